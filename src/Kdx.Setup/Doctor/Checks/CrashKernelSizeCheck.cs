// crashkernel.size: the reservation is big enough: against an estimate of what the crash kernel
// needs (kernel + kdump initrd + runtime for this RAM and CPU count), the distro default table,
// and on ppc64 with fadump the fadump table.
namespace Kdx.Setup.Doctor.Checks;

public sealed class CrashKernelSizeCheck : IDoctorCheck
{
    public string Id => "crashkernel.size";

    public CheckResult Run(DoctorContext context)
    {
        if (context.SystemRam is not { } ram)
            return CheckResult.Warn(Id, "cannot read /proc/meminfo: reservation size not judged");
        if (context.FadumpEnabled)
            return CheckFadump(context, ram);

        long? reserved = context.ReservedBytes is > 0 ? context.ReservedBytes : context.CrashKernel?.Main?.SizeFor(ram);
        if (reserved is not > 0)
            return CheckResult.Skip(Id, "nothing reserved to judge (see crashkernel.reserved)");
        var estimate = CrashKernelSizing.Estimate(context.Machine, ram);
        var parts = $"kernel {SizeText.Human(estimate.KernelBytes)}{Assumed(estimate.KernelFile)} + kdump initrd {SizeText.Human(estimate.InitrdBytes)}{Assumed(estimate.InitrdFile)}"
            + $" + runtime {SizeText.Human(estimate.RuntimeBytes)} for {SizeText.Human(ram)} RAM, {(context.Machine.CpuCount is { } n ? $"{n} CPU(s)" : "CPU count unknown")}";
        var table = CrashKernelSizing.DefaultFor(context.Machine.Distro, context.Machine.Arch);
        long tableSize = table?.SizeFor(ram) ?? 0;
        if (reserved < estimate.Bytes)
        {
            // The estimate is a heuristic: at or above the distribution's own default it only warns.
            var message = $"{SizeText.Human(reserved.Value)} reserved, about {SizeText.Human(estimate.Bytes)} needed ({parts}): the crash kernel may run out of memory";
            var fix = Recommendations.CrashKernelFix(context, "reserve more memory for the crash kernel");
            return tableSize > 0 && reserved >= tableSize
                ? CheckResult.Warn(Id, message + $" (the {context.Machine.Distro.Id} default {SizeText.Kernel(tableSize)} is met)", fix)
                : CheckResult.Fail(Id, message, fix);
        }
        if (reserved < tableSize)
            return CheckResult.Warn(Id, $"{SizeText.Human(reserved.Value)} reserved covers the estimate ({SizeText.Human(estimate.Bytes)}) but is below the {context.Machine.Distro.Id} default {SizeText.Kernel(tableSize)} (crashkernel={table!.Text})",
                Recommendations.CrashKernelFix(context, "use the distribution's default reservation"));
        return CheckResult.Ok(Id, $"{SizeText.Human(reserved.Value)} reserved, about {SizeText.Human(estimate.Bytes)} needed ({parts})");
    }

    private CheckResult CheckFadump(DoctorContext context, long ram)
    {
        var need = CrashKernelSizing.FadumpSize(ram);
        if (need is null)
            return CheckResult.Warn(Id, $"fadump has no table entry below 4G of RAM ({SizeText.Human(ram)} here)");
        var cmdline = context.Machine.CommandLine;
        long? asked = cmdline?.ValuesOf("fadump_reserve_mem").Select(v => SizeText.ParseBytes(v)).LastOrDefault(v => v is not null)
            ?? context.CrashKernel?.Main?.SizeFor(ram);
        if (asked is null)
            return CheckResult.Ok(Id, $"fadump sizes its own reservation; the table wants {SizeText.Kernel(need.Value)} for {SizeText.Human(ram)} RAM");
        if (asked < need)
            return CheckResult.Fail(Id, $"fadump reserves {SizeText.Kernel(asked.Value)}, the fadump table wants {SizeText.Kernel(need.Value)} for {SizeText.Human(ram)} RAM",
                new Fix("raise the fadump reservation", new SetKernelArgument("crashkernel", SizeText.Kernel(need.Value)), new RunCommand("reboot")));
        return CheckResult.Ok(Id, $"fadump reserves {SizeText.Kernel(asked.Value)} (table: {SizeText.Kernel(need.Value)} for {SizeText.Human(ram)} RAM)");
    }

    private static string Assumed(string? file) => file is null ? " (image not found, assumed)" : "";
}
