/** `deno task bench <name>`: benchmarks that print numbers; the last line is `BENCH {json}`. */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { runTask } from "../src/Cli.ts"
import { benchSandbox } from "../bench/sandbox.ts"

const bench = Command.make("bench", {
  name: Argument.Literals("name", ["sandbox"]).pipe(Argument.withDescription("Which benchmark to run")),
  seconds: Flag.Int("seconds").pipe(Flag.withDescription("Duration of each measured phase"), Flag.withDefault(10)),
  posts: Flag.Int("posts").pipe(Flag.withDescription("Posts in the benchmark channel"), Flag.withDefault(100_000)),
}, ({ name, seconds, posts }) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const figures = yield* Effect.promise(() =>
      benchSandbox({ posts, seconds, inflight: 8, report: (line) => lines.push(line) })
    )
    for (const line of lines) yield* Console.log(line)
    yield* Console.log(`BENCH ${JSON.stringify({ bench: name, ...figures })}`)
  })).pipe(Command.withDescription("Run a benchmark and print its figures"))

runTask(bench)
