// tsc only adds and overwrites: a moved or deleted source would leave its old output in dist, and npm pack
// would ship it. The build starts from an empty dist.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
