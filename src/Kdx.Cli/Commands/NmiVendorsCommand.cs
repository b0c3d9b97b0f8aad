// `kdx nmi vendors`: the known BMC/hypervisor NMI codes, and which rows match this machine.
using System.CommandLine;
using Kdx.Setup.Nmi;

namespace Kdx.Cli.Commands;

public sealed class NmiVendorsCommand : KdxCommand
{
    public override Command Build()
    {
        var root = NmiCommand.RootOption("reading /sys/class/dmi/id");
        var cmd = new Command("vendors", "Known NMI event codes per platform, and the match for this machine's DMI vendor and product.")
        {
            root,
        };
        cmd.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            var rows = NmiVendors.Table.Select(e => new[] { e.Platform, e.Codes.ToString(), e.Source }).ToList();
            TextTable.Write(o, ["platform", "codes", "source"], rows);
            foreach (var e in NmiVendors.Table.Where(e => e.Note is not null))
                o.WriteLine($"  {e.Platform}: {e.Note}");
            o.WriteLine();

            var machine = DmiIdentity.Read(r.GetValue(root)!);
            if (machine is null)
            {
                o.WriteLine("this machine: no DMI identity (/sys/class/dmi/id not readable)");
                return ExitCodes.Ok;
            }
            o.WriteLine($"this machine: {machine}");
            var match = NmiVendors.Match(machine);
            if (match.Entries.Count == 0)
            {
                o.WriteLine("  no known codes: send a test NMI from the BMC or hypervisor, then run kdx nmi discover");
                return ExitCodes.Ok;
            }
            foreach (var e in match.Entries)
                o.WriteLine($"  matches {e.Platform} ({e.Source}): {e.Codes}");
            if (match.Disagree)
                o.WriteLine("  the sources disagree: confirm with a test NMI and kdx nmi discover");
            o.WriteLine($"  to panic (and dump) on them: kdx nmi config --panic {match.Suggested}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
