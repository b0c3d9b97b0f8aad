// `kdx nmi config`: validates nmimgr's lists and prints or installs /etc/modprobe.d/nmimgr.conf and the kernel command-line form.
using System.CommandLine;
using Kdx.Setup.Nmi;

namespace Kdx.Cli.Commands;

public sealed class NmiConfigCommand : KdxCommand
{
    public override Command Build()
    {
        var panic = new Option<string>("--panic") { Description = "Codes that panic (kdump), e.g. 40,41,56,57.", Required = true };
        var drop = new Option<string>("--drop") { Description = "Codes claimed and logged, so the kernel ignores them." };
        var ignore = new Option<string>("--ignore") { Description = "Codes passed on silently." };
        var write = new Option<bool>("--write") { Description = "Install the file (temp file + rename); without it, only print." };
        var root = NmiCommand.RootOption("writing etc/modprobe.d/nmimgr.conf");
        var cmd = new Command("config", "Validate NMI code lists (kernel list syntax, codes 0-255) and write nmimgr's modprobe configuration.")
        {
            panic, drop, ignore, write, root,
        };
        cmd.SetAction(r =>
        {
            NmiPolicy policy;
            try
            {
                policy = NmiPolicy.Parse(r.GetValue(ignore), r.GetValue(drop), r.GetValue(panic)).Validate();
            }
            catch (Exception e) when (e is NmiListException or NmiPolicyException)
            {
                throw new UsageException(e.Message);
            }

            var o = r.InvocationConfiguration.Output;
            var writer = new RootedFileWriter(r.GetValue(root)!);
            var target = writer.Resolve(NmiPolicy.ModprobeConfPath);
            var conf = policy.ModprobeConf();
            if (r.GetValue(write))
            {
                writer.WriteAtomically(NmiPolicy.ModprobeConfPath, conf);
                o.WriteLine($"wrote {target}");
            }
            else
            {
                o.WriteLine($"# {target} (dry run: add --write to install it)");
            }
            o.Write(conf);
            o.WriteLine();
            var cmdline = policy.KernelCommandLine();
            o.WriteLine($"kernel command line (built-in nmimgr, or read by modprobe): {(cmdline.Length > 0 ? cmdline : "(nothing to set)")}");
            o.WriteLine("at runtime: echo LIST > /sys/module/nmimgr/parameters/events_panic (and events_drop, events_ignore)");
            foreach (var hint in policy.ToggleBitHints())
                o.WriteLine($"note: bit 0x10 of an event code flips by itself (port 0x61 refresh toggle); {hint}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
