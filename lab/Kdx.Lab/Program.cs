// kdx-lab: builds crash-lab scenarios from the command line (tests call LabBuilder directly).
using System.CommandLine;
using Kdx.Lab;

var kernel = new Option<string>("--kernel") { Description = "Debian kernel release (e.g. 6.1.0-56-amd64), or 'default', 'default-cloud', 'default-rt'", DefaultValueFactory = _ => "default" };
var crash = new Option<string>("--crash") { Description = "sysrq | nmi | oops | bug | warn | softlockup | hung | oom | script", DefaultValueFactory = _ => "sysrq" };
var capture = new Option<string[]>("--capture") { Description = "qemu-elf | qemu-kdump-zlib | qemu-kdump-lzo | qemu-kdump-snappy | kdump-cat | kdump-mdf:OPTIONS (e.g. kdump-mdf:-l,-d,31) | kdump-kdx:OPTIONS (kdx capture, needs --file PATH:kdx); repeatable", AllowMultipleArgumentsPerToken = false };
var ram = new Option<int>("--ram") { Description = "guest RAM in MiB", DefaultValueFactory = _ => 1024 };
var cpus = new Option<int>("--cpus") { Description = "guest CPUs", DefaultValueFactory = _ => 2 };
var nokaslr = new Option<bool>("--nokaslr") { Description = "boot with nokaslr" };
var la57 = new Option<bool>("--la57") { Description = "5-level paging (-cpu qemu64,+la57)" };
var crashkernel = new Option<int>("--crashkernel") { Description = "crashkernel= reservation in MiB (kdump captures)", DefaultValueFactory = _ => 256 };
var module = new Option<string[]>("--module") { Description = "extra module to load: PATH.ko[:OPTIONS] (repeatable)" };
var script = new Option<string?>("--script") { Description = "guest shell script run instead of a crash (crash kind 'script')" };
var oracles = new Option<bool>("--oracles") { Description = "also store crash 9 (with the -dbg vmlinux), drgn and makedumpfile 1.7.8 views of the dump" };
var file = new Option<string[]>("--file") { Description = "host file to put in the guest as /lab/NAME: PATH[:NAME] (repeatable), e.g. a NativeAOT kdx" };
var captureScript = new Option<string?>("--capture-script") { Description = "shell script the kdump capture kernel runs before its collectors" };
var boot = new Option<int>("--boot") { Description = "another boot of the same scenario, cached separately (1, 2...; 0 is the usual one)" };
var cmdline = new Option<string>("--cmdline") { Description = "extra kernel command line", DefaultValueFactory = _ => "" };

var build = new Command("build", "Build (or reuse from the cache) one scenario and print its directory")
{
    kernel, crash, capture, ram, cpus, nokaslr, la57, crashkernel, module, file, script, captureScript, cmdline, oracles, boot,
};
build.SetAction(parse =>
{
    var scenario = ScenarioOptions.Create(
        parse.GetValue(kernel)!, parse.GetValue(crash)!, parse.GetValue(capture) ?? [], parse.GetValue(ram),
        parse.GetValue(cpus), !parse.GetValue(nokaslr), parse.GetValue(la57), parse.GetValue(crashkernel),
        parse.GetValue(module) ?? [], parse.GetValue(script), parse.GetValue(cmdline)!,
        parse.GetValue(captureScript), parse.GetValue(file) ?? [], parse.GetValue(boot));
    var result = LabBuilder.Build(scenario, Console.Error);
    if (parse.GetValue(oracles))
        Console.Error.WriteLine("oracle outputs: " + Oracles.Ensure(result, Console.Error));
    Console.WriteLine(result.Directory);
    foreach (var c in result.Metadata.Captures)
        Console.WriteLine($"  {c.Id,-28} {c.Format,-10} {string.Join(' ', c.Files)}");
    return 0;
});

var list = new Command("list", "List the cached scenarios");
list.SetAction(_ =>
{
    if (!Directory.Exists(LabPaths.Scenarios))
        return 0;
    foreach (var d in Directory.GetDirectories(LabPaths.Scenarios).Order(StringComparer.Ordinal))
        if (File.Exists(Path.Combine(d, LabResult.MetadataFile)))
            Console.WriteLine(d);
    return 0;
});

var idleDays = new Option<int>("--idle-days") { Description = "also remove scenarios not used for this many days", DefaultValueFactory = _ => 14 };
var pruneDryRun = new Option<bool>("--dry-run") { Description = "only say what would be removed" };
var prune = new Command("prune", "Remove superseded scenarios (a newer build with changed host files, e.g. a new kdx) and long-unused ones; failed builds' logs too")
{
    idleDays, pruneDryRun,
};
prune.SetAction(parse =>
{
    var dry = parse.GetValue(pruneDryRun);
    var removed = LabCache.Prune(LabPaths.Scenarios, TimeSpan.FromDays(parse.GetValue(idleDays)), DateTime.UtcNow, dry);
    foreach (var r in removed)
        Console.WriteLine($"{(dry ? "would remove" : "removed")} {r.Directory} ({r.Bytes >> 20} MiB): {r.Reason}");
    var failed = Path.Combine(LabPaths.Cache, "failed");
    if (!dry && Directory.Exists(failed))
        Directory.Delete(failed, recursive: true);
    Console.WriteLine($"{removed.Sum(r => r.Bytes) >> 20} MiB in {removed.Count} scenarios{(dry ? " (dry run)" : "")}");
    return 0;
});

var root = new RootCommand("kdx crash lab: real Debian kernels crashed under QEMU, captured, cached") { build, list, prune };
try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (LabException e)
{
    Console.Error.WriteLine($"kdx-lab: {e.Message}");
    return 2;
}
