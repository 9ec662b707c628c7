// Prints every .cpp under native/ except the CUDA backend's and the MPI module's folders, sorted: the source list of
// binding.gyp (CMakeLists.txt applies the same rule with file(GLOB_RECURSE)).
const fs = require('node:fs');
const path = require('node:path');
const walk = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p === path.join('native', 'backend', 'cuda') || p === path.join('native', 'mpi') ? [] : walk(p);
    return e.name.endsWith('.cpp') ? [p] : [];
  });
console.log(walk('native').sort().join(' '));
