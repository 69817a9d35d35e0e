// Fails when the modules under src/ import each other in a cycle (type-only imports included: a cycle of types
// still ties the modules' designs together). Prints each cycle found.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', 'src');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(full);
  }
};
walk(root);

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const graph = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts'));
    if (files.includes(target)) deps.add(target);
  }
  graph.set(file, [...deps]);
}

// Depth-first search; a grey node met again closes a cycle.
const state = new Map();
const cycles = [];
const stack = [];
const visit = (node) => {
  state.set(node, 'grey');
  stack.push(node);
  for (const next of graph.get(node)) {
    if (state.get(next) === 'grey') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(node, 'black');
};
for (const file of files) if (!state.has(file)) visit(file);

const rel = (f) => path.relative(root, f);
for (const cycle of cycles) console.error(`import cycle: ${cycle.map(rel).join(' -> ')}`);
if (cycles.length) process.exit(1);
console.error(`no import cycle among ${files.length} modules under src/`);
