// `kdx nmi status`: whether nmimgr is loaded, its lists and counters, and the sysctls that act on unclaimed NMIs.
using System.CommandLine;
using System.Globalization;
using Kdx.Setup.Nmi;

namespace Kdx.Cli.Commands;

public sealed class NmiStatusCommand : KdxCommand
{
    public override Command Build()
    {
        var root = NmiCommand.RootOption("reading /sys, /proc and /etc");
        var cmd = new Command("status", "Show nmimgr's state (loaded, lists, counters) and the NMI sysctls.")
        {
            root,
        };
        cmd.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            var s = NmiStatus.Read(r.GetValue(root)!);
            o.WriteLine($"nmimgr: {(s.Loaded ? "loaded" : "not loaded")}");
            foreach (var (name, value) in s.Parameters)
                o.WriteLine($"  {name}: {(value.Length > 0 ? value : "(empty)")}");
            if (s.Loaded)
            {
                if (s.Counters.Count == 0)
                    o.WriteLine("  counters: no NMI seen since load");
                else
                {
                    o.WriteLine("  counters:");
                    TextTable.Write(o, ["    code", "hex", "count"],
                        [.. s.Counters.Select(c => new[] { "    " + c.Key.ToString(CultureInfo.InvariantCulture), $"0x{c.Key:x2}", c.Value.ToString(CultureInfo.InvariantCulture) })],
                        rightAligned: [0, 2]);
                }
            }
            o.WriteLine("sysctls (kernel.*):");
            foreach (var sc in s.Sysctls)
                o.WriteLine($"  {sc.Name} = {sc.Value ?? "(not present)"}  # {sc.Meaning}");
            o.WriteLine($"crash kernel loaded: {s.CrashKernelLoaded switch { true => "yes", false => "no", null => "unknown" }}");
            o.WriteLine($"{NmiPolicy.ModprobeConfPath}: {(s.ModprobeConf is null ? "absent" : "present")}");
            if (s.ModprobeConf is not null)
                foreach (var line in s.ModprobeConf.Split('\n').Where(l => l.StartsWith("options", StringComparison.Ordinal)))
                    o.WriteLine($"  {line}");
            if (s.CommandLineOptions.Count > 0)
                o.WriteLine($"kernel command line: {string.Join(' ', s.CommandLineOptions)}");
            foreach (var note in s.Notes)
                o.WriteLine($"note: {note}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
