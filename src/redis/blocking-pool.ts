import { duplicateConnection, type Connection } from './connection.js';

/** Pool of connections for blocking reads (XREAD BLOCK freezes its connection), made on demand. */
export class BlockingPool {
  private readonly free: Connection[] = [];
  private readonly all = new Set<Connection>();
  constructor(private readonly source: Connection) {}

  acquire(): Connection {
    const conn = this.free.pop() ?? duplicateConnection(this.source);
    this.all.add(conn);
    return conn;
  }
  release(conn: Connection): void {
    if (this.all.has(conn)) this.free.push(conn);
  }
  /** Drops a connection that is blocked in a read nobody wants any more: disconnecting ends the read. */
  discard(conn: Connection): void {
    this.all.delete(conn);
    const i = this.free.indexOf(conn);
    if (i >= 0) this.free.splice(i, 1);
    conn.disconnect();
  }
  closeAll(): void {
    for (const conn of this.all) conn.disconnect();
    this.all.clear();
    this.free.length = 0;
  }
}
