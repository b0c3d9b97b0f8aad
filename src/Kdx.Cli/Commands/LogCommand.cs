// `kdx log DUMP`: the kernel log out of the dump, printed exactly as crash's `log` prints it
// (-T wall-clock time, -m levels, -c caller ids, -a device info), with no debuginfo.
using System.CommandLine;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Log;

namespace Kdx.Cli.Commands;

public sealed class LogCommand : KdxCommand
{
    public override Command Build()
    {
        var dumpArg = new Argument<string[]>("DUMP") { Description = "The dump file (several for a split set).", Arity = ArgumentArity.OneOrMore };
        var human = new Option<bool>("-T") { Description = "Wall-clock time (boot time estimated as CRASHTIME minus the last record's time)." };
        var level = new Option<bool>("-m") { Description = "Prefix each record with its log level, <N>." };
        var caller = new Option<bool>("-c") { Description = "Show the caller (T<pid> or C<cpu>) of each record." };
        var device = new Option<bool>("-a") { Description = "Append SUBSYSTEM= and DEVICE= lines from the device info." };
        var command = new Command("log", "Print the kernel log buffer of the dump, like crash's log.") { dumpArg, human, level, caller, device };
        command.SetAction(parse =>
        {
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            var info = dump.VmcoreInfo
                ?? throw new DumpFormatException(dump.Paths[0], 0, "the dump has no VMCOREINFO note, so the log cannot be found without debuginfo");
            var kernel = new DumpedKernel(KernelMemory.Open(dump), info);
            var records = kernel.Log.Records;
            var options = new LogFormatOptions
            {
                ShowLevel = parse.GetValue(level),
                CallerWidth = parse.GetValue(caller) ? 6 : null,
                ShowDeviceInfo = parse.GetValue(device),
                BootTime = parse.GetValue(human) ? BootTime(info, records) : null,
            };
            LogFormatter.Write(parse.InvocationConfiguration.Output, records, options);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static DateTimeOffset BootTime(VmcoreInfo info, IReadOnlyList<LogRecord> records)
    {
        if (info.CrashTime is not { } crash)
            throw new UsageException("log -T: the dump has no CRASHTIME in VMCOREINFO to anchor wall-clock time");
        var last = records.Count == 0 ? 0UL : records[^1].TimestampNs;
        return DateTimeOffset.FromUnixTimeSeconds(crash).AddSeconds(-(double)(last / 1_000_000_000));
    }
}
