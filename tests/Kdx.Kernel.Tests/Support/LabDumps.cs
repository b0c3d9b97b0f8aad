// The crash lab's real dumps for the kernel tests: named scenarios of Kdx.Lab's catalog, built
// (or taken from the lab cache) on first use, each capture opened once with Kdx.Dump's readers and
// Kdx.Kernel's x86_64 address space. A scenario that cannot be built fails the test that needs it.
using System.Collections.Concurrent;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Lab;

namespace Kdx.Kernel.Tests.Support;

public static class LabDumps
{
    /// <summary>The scenarios the kernel tests read, by a short name used in test names.</summary>
    public static readonly IReadOnlyDictionary<string, Func<Scenario>> Scenarios = new Dictionary<string, Func<Scenario>>
    {
        ["sysrq-kdump"] = LabCatalog.SysrqKdump,
        ["nmi-qemu"] = LabCatalog.NmiQemu,
    };

    /// <summary>Every capture as "scenario/capture-id" (split sets open all their parts), for theory data.</summary>
    public static IReadOnlyList<string> Captures() =>
        [.. Scenarios.SelectMany(s => s.Value().Captures.Select(c => $"{s.Key}/{c.Id}"))];

    private static readonly ConcurrentDictionary<string, Lazy<LabResult>> Built = new();

    /// <summary>The built scenario (LabCatalog.Build caches by inputs; one build at a time).</summary>
    public static LabResult Lab(string scenario) =>
        Built.GetOrAdd(scenario, s => new(() => LabCatalog.Build(Scenarios[s]()))).Value;

    private static readonly ConcurrentDictionary<string, Lazy<(IDumpFile Dump, DumpedKernel Kernel)>> Open = new();

    /// <summary>The capture opened once per test run (kallsyms and BTF decoded once, shared by the tests).</summary>
    public static (IDumpFile Dump, DumpedKernel Kernel) Load(string capture) =>
        Open.GetOrAdd(capture, c => new(() =>
        {
            var (scenario, id) = Split(c);
            var dump = DumpFile.Open([.. Lab(scenario).Files(id)]);
            var info = dump.VmcoreInfo ?? throw new InvalidOperationException($"{c}: the capture has no VMCOREINFO");
            return (dump, new DumpedKernel(KernelMemory.Open(dump), info));
        })).Value;

    public static string ScenarioDir(string capture) => Lab(Split(capture).Scenario).Directory;

    /// <summary>metadata.json's expected_panic: a regular expression the log must match.</summary>
    public static string ExpectedPanic(string capture) => Lab(Split(capture).Scenario).Metadata.ExpectedPanic;

    private static (string Scenario, string Id) Split(string capture)
    {
        var slash = capture.IndexOf('/', StringComparison.Ordinal);
        return (capture[..slash], capture[(slash + 1)..]);
    }
}
