// npm run bench [-- jws ilp store metrics upstream core handshake]: micro-benchmarks of each capability beside its floor.
// Benchmarks are not tests: they print figures; nothing here fails a build.
const all = ['jws', 'ilp', 'store', 'metrics', 'upstream', 'core', 'handshake'] as const;
type Name = (typeof all)[number];
const picked = process.argv.slice(2).filter((a): a is Name => (all as readonly string[]).includes(a));
const names: readonly Name[] = picked.length ? picked : all;
console.log(`switchguard benchmarks on ${process.version}, ${new Date().toISOString()}: ${names.join(', ')}\n`);
for (const name of names) {
  const m = (await import(`./${name}.js`)) as { run: () => Promise<unknown> };
  await m.run();
  console.log('');
}
process.exit(0);
