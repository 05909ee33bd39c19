/**
 * Prints the hottest frames of a V8 CPU profile (`node --cpu-prof` output): self time per
 * function, and total (inclusive) time per function.
 *
 * Usage: `npx tsx bench/profile-top.ts <file.cpuprofile> [count] [filter]`
 * (`filter`: only list frames whose URL contains it in the inclusive table, e.g. `src/server`).
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, countArg, filter] = process.argv.slice(2)
if (!file) {
  console.error('usage: tsx bench/profile-top.ts <file.cpuprofile> [count] [filter]')
  process.exit(2)
}
const count = Number(countArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const label = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(src|bench)\//, '$1/')
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim()
}

const self = new Map<string, number>()
const total = new Map<string, number>()
let all = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  all += dt
  const node = byId.get(id)!
  self.set(label(node), (self.get(label(node)) ?? 0) + dt)
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!)
    if (seen.has(l)) continue
    seen.add(l)
    total.set(l, (total.get(l) ?? 0) + dt)
  }
})

const print = (title: string, map: Map<string, number>, keep: (l: string) => boolean) => {
  console.log(`\n${title} (of ${(all / 1000).toFixed(0)} ms sampled)`)
  for (const [l, t] of [...map].filter(([l]) => keep(l)).sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((100 * t) / all).toFixed(1).padStart(5)} %  ${l}`)
  }
}
print('self time', self, () => true)
print('total time', total, (l) => (filter ? l.includes(filter) : !l.startsWith('(root)')))
