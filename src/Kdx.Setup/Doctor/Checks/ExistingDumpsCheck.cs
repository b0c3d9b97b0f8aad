// target.dumps: dumps already in the target (count, size, newest), incomplete ones flagged, and
// whether the newest looks openable through the pluggable IDumpProbe.
namespace Kdx.Setup.Doctor.Checks;

public sealed class ExistingDumpsCheck : IDoctorCheck
{
    public string Id => "target.dumps";

    public CheckResult Run(DoctorContext context)
    {
        if (context.Target?.Path is not { } dir || !context.Fs.DirectoryExists(dir))
            return CheckResult.Skip(Id, "no local dump directory to look in");
        var dumps = ExistingDumps.Find(context.Fs, dir);
        if (dumps.Count == 0)
            return CheckResult.Ok(Id, $"no dumps in {dir} yet");
        var newest = dumps[0];
        long total = dumps.Sum(d => d.Size);
        int incomplete = dumps.Count(d => d.Incomplete);
        var summary = $"{dumps.Count} dump(s), {SizeText.Human(total)} in {dir}; newest {newest.When:yyyy-MM-dd HH:mm} {newest.File}";
        var incompleteNote = incomplete > 0 ? $"; {incomplete} incomplete" : "";
        if (newest.Incomplete)
            return CheckResult.Warn(Id, $"{summary} is incomplete: the capture was cut short (space or a crash in the crash kernel){incompleteNote}",
                new Fix("look at vmcore-dmesg.txt / dmesg.* next to it, free space, and test with a deliberate crash in a maintenance window"));
        var probe = context.DumpProbe.Probe(context.Fs, newest.File);
        if (!probe.Openable)
            return CheckResult.Warn(Id, $"{summary} does not look openable: {probe.Detail}{incompleteNote}");
        return CheckResult.Ok(Id, $"{summary} ({probe.Detail}){incompleteNote}");
    }
}
