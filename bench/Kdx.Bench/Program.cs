// kdx-bench: runs the named side-by-side benchmarks (or all of them) and rewrites their sections of
// bench/RESULTS.md. Usage: dotnet run -c Release --project bench/Kdx.Bench -- NAME... | all | --list
namespace Kdx.Bench;

public static class Benchmarks
{
    /// <summary>Every benchmark, one line each.</summary>
    public static readonly IReadOnlyList<IBenchmark> All =
    [
        new BacktraceBenchmark(),
        new DumpReadBenchmark(),
        new SourceLinesBenchmark(),
        new TriageBenchmark(),
        new KernelViewBenchmark(),
        new CaptureBenchmark(),
        new CaptureKernelBenchmark(),
    ];

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args.Contains("--list") || args.Contains("-h") || args.Contains("--help"))
        {
            Console.WriteLine("usage: kdx-bench NAME... | all");
            foreach (var b in All)
                Console.WriteLine($"  {b.Name,-16} {b.Title}");
            return args.Length == 0 ? 1 : 0;
        }
        var chosen = args.Contains("all") ? All : [];
        if (chosen.Count == 0)
        {
            var list = new List<IBenchmark>();
            foreach (var name in args)
            {
                var b = All.FirstOrDefault(x => x.Name == name);
                if (b is null)
                {
                    Console.Error.WriteLine($"kdx-bench: no benchmark named '{name}' (--list shows them)");
                    return 1;
                }
                list.Add(b);
            }
            chosen = list;
        }
        foreach (var b in chosen)
        {
            Console.Error.WriteLine($"== {b.Name}: {b.Title}");
            b.Run(new BenchRun(b, Console.Error));
        }
        return 0;
    }
}
