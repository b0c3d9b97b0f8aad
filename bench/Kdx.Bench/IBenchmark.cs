// One side-by-side benchmark: kdx and its peer on the same input in one run, written as a section of bench/RESULTS.md.
namespace Kdx.Bench;

public interface IBenchmark
{
    /// <summary>The name used on the command line and in the RESULTS.md section marker.</summary>
    string Name { get; }

    /// <summary>A one-line heading for the section.</summary>
    string Title { get; }

    void Run(BenchRun run);
}
