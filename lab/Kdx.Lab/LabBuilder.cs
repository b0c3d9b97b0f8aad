// Builds a scenario end to end: kernel package, crashtest module, initramfs, a QEMU guest that
// crashes for real, the captures, and metadata.json. Results are cached by the scenario and the
// fingerprints of every input; a failed build leaves nothing in the cache but its reason.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kdx.Lab;

public static partial class LabBuilder
{
    /// <summary>Bump when the lab's own logic changes in a way that changes its outputs.</summary>
    public const int RecipeVersion = 1;

    [GeneratedRegex(@"Kernel panic - not syncing: ([^\r\n]*)")]
    private static partial Regex PanicLine();

    [GeneratedRegex(@"Kernel panic - not syncing: ([^\r\n]*)|KDXLAB-CAPTURE-KERNEL")]
    private static partial Regex PanicOrCaptureKernel();

    /// <summary>The console text each crash kind must produce before (or in) its panic line.</summary>
    public static Regex ExpectedPanic(CrashKind kind) => kind switch
    {
        CrashKind.Sysrq => new(@"Kernel panic - not syncing: sysrq triggered crash"),
        CrashKind.Nmi => new(@"Kernel panic - not syncing: NMI: Not continuing"),
        CrashKind.Oops => new(@"BUG: kernel NULL pointer dereference(.|\n)*Kernel panic - not syncing: Fatal exception"),
        CrashKind.Bug => new(@"kernel BUG at (.|\n)*Kernel panic - not syncing: Fatal exception"),
        CrashKind.Warn => new(@"WARNING: CPU: (.|\n)*Kernel panic - not syncing: .*panic_on_warn set"),
        CrashKind.Softlockup => new(@"BUG: soft lockup - CPU#(.|\n)*Kernel panic - not syncing: softlockup: hung tasks"),
        CrashKind.Hung => new(@"INFO: task .* blocked for more than (.|\n)*Kernel panic - not syncing: hung_task: blocked tasks"),
        CrashKind.Oom => new(@"Kernel panic - not syncing: Out of memory"),
        _ => new(@"Kernel panic - not syncing: "),
    };

    public static LabResult Build(Scenario s, TextWriter? progress = null)
    {
        progress ??= TextWriter.Null;
        s.Validate();
        var kernel = Kernels.Image(s.Kernel);
        var inputs = InputsHash(s, kernel);
        var name = s.CacheName(inputs);
        var dir = Path.Combine(LabPaths.Scenarios, name);
        var meta = Path.Combine(dir, LabResult.MetadataFile);
        using var _ = FileLock.Acquire("scenario-" + name, TimeSpan.FromMinutes(60));
        if (File.Exists(meta))
        {
            progress.WriteLine($"cached: {dir}");
            LabCache.MarkUsed(dir);
            return LabResult.Load(dir);
        }
        Directory.CreateDirectory(LabPaths.Scenarios);
        var work = Path.Combine(LabPaths.Scenarios, $".tmp-{name}-{Environment.ProcessId}");
        if (Directory.Exists(work))
            Directory.Delete(work, true);
        Directory.CreateDirectory(work);
        try
        {
            BuildInto(s, kernel, inputs, name, work, progress);
            if (Directory.Exists(dir))
                Directory.Delete(dir, true);
            Directory.Move(work, dir);
            LabCache.MarkUsed(dir);
            progress.WriteLine($"built: {dir}");
            return LabResult.Load(dir);
        }
        catch (Exception e)
        {
            // Keep the failure's console log for a person to read, outside the cache proper.
            var failed = Path.Combine(LabPaths.Cache, "failed", name);
            try
            {
                if (Directory.Exists(failed))
                    Directory.Delete(failed, true);
                Directory.CreateDirectory(Path.GetDirectoryName(failed)!);
                foreach (var f in Directory.GetFiles(work, "*.vmcore*"))
                    File.Delete(f);
                foreach (var f in Directory.GetFiles(work, "*.img"))
                    File.Delete(f);
                Directory.Move(work, failed);
            }
            catch (IOException)
            {
            }
            if (e is LabException)
                throw new LabException($"scenario {s.Canonical()} failed: {e.Message}");
            throw;
        }
        finally
        {
            if (Directory.Exists(work))
                Directory.Delete(work, true);
        }
    }

    /// <summary>Hash of the scenario and everything that shapes its output.</summary>
    public static string InputsHash(Scenario s, KernelImage kernel)
    {
        var files = new List<string>
        {
            Path.Combine(LabPaths.GuestDir, "init.sh"),
            Path.Combine(LabPaths.GuestDir, "memhog.c"),
            Path.Combine(LabPaths.GuestDir, "vmcopy.c"),
            Path.Combine(LabPaths.CrashTestSource, "crashtest.c"),
        };
        files.AddRange(s.ExtraModules.Select(m => m.Path));
        if (s.ScriptPath is not null)
            files.Add(s.ScriptPath);
        if (s.CaptureScriptPath is not null)
            files.Add(s.CaptureScriptPath);
        files.AddRange(s.ExtraFiles.Select(f => f.Path));
        var tools = string.Join(';', Initramfs.HostBinaries.Select(b => File.Exists(b) ? $"{b}:{new FileInfo(b).Length}" : b));
        var extra = $"{s.Canonical()}|recipe={RecipeVersion}|pkg={kernel.PackageVersion}|{tools}|" +
                    string.Join(';', s.ExtraModules.Select(m => m.Options));
        return Initramfs.HashFiles(files, extra);
    }

    private static void BuildInto(Scenario s, KernelImage kernel, string inputs, string name, string work, TextWriter progress)
    {
        var clock = Stopwatch.StartNew();
        var crashtest = GuestBinaries.CrashTestModule(kernel.Release);
        var tools = GuestBinaries.StaticTools.Select(GuestBinaries.StaticTool).ToList();

        // Kdump: one virtio disk per collector, plus one for makedumpfile --dump-dmesg.
        var collectors = new List<(string Id, string Command, bool Stream)>();
        if (s.UsesKdump)
        {
            foreach (var c in s.Captures)
                collectors.Add((c.Id, CollectorCommand(c), c.Method == CaptureSpec.KdumpCat || c.IsFlattened));
            collectors.Add(("makedumpfile-dmesg", "makedumpfile --dump-dmesg /proc/vmcore dmesg.txt", false));
        }
        var devices = collectors.Select((_, i) => "vd" + (char)('a' + i)).ToList();
        var disks = new List<string>();
        foreach (var dev in devices)
        {
            var disk = Path.Combine(work, $"disk-{dev}.img");
            using (var f = File.Create(disk))
                f.SetLength((long)(s.RamMiB + 128) << 20); // sparse; holds a full raw vmcore
            disks.Add(disk);
        }

        var initrd = Path.Combine(work, "initrd.img");
        var plan = new Initramfs.Plan(kernel, crashtest, tools, s.ExtraModules, s.ScriptPath, s.CaptureScriptPath, s.ExtraFiles, devices,
            collectors.Select(c => c.Stream ? "stream:" + c.Command : c.Command).ToList());
        Initramfs.Build(plan, work, initrd);
        progress.WriteLine($"initramfs ready ({new FileInfo(initrd).Length >> 20} MiB) after {clock.Elapsed.TotalSeconds:0} s");

        // no_timer_check: under a loaded host, TCG's timer is late enough for the kernel's IO-APIC
        // timer check to panic at boot ("IO-APIC + timer doesn't work!"); cloud images skip it too.
        var cmdline = $"console=ttyS0 no_timer_check kdxlab.crash={s.Crash.ToString().ToLowerInvariant()} kdxlab.capture={(s.UsesKdump ? "kdump" : "qemu")}";
        if (s.UsesKdump)
            cmdline += $" crashkernel={s.CrashKernelMiB}M";
        if (!s.Kaslr)
            cmdline += " nokaslr";
        if (s.ExtraCmdline.Length > 0)
            cmdline += " " + s.ExtraCmdline;

        var captures = new List<LabCapture>();
        string? panicLine;
        for (var attempt = 1; ; attempt++)
        using (var guest = QemuGuest.Start(new QemuGuest.Options(kernel.Vmlinuz, initrd, cmdline, s.RamMiB, s.Cpus, s.La57,
                   disks, VmcoreInfoDevice: !s.UsesKdump), work))
        {
            Match ready;
            try
            {
                // a normal boot prints all along; two quiet minutes are a stalled guest, booted once more
                ready = guest.WaitFor(new Regex("KDXLAB-READY|Kernel panic - not syncing: .*"), TimeSpan.FromMinutes(5), "the guest to boot",
                    stall: TimeSpan.FromMinutes(2));
            }
            catch (GuestStalledException e) when (attempt == 1)
            {
                progress.WriteLine($"{e.Message}: booting it again");
                continue;
            }
            catch (GuestStalledException e)
            {
                throw guest.Failure(e.Message);
            }
            if (ready.Value.StartsWith("Kernel panic", StringComparison.Ordinal))
                throw guest.Failure($"the kernel panicked while booting: {ready.Value}");
            progress.WriteLine($"guest ready after {clock.Elapsed.TotalSeconds:0} s");
            if (s.UsesKdump && !guest.Console.Contains("KDXLAB-KDUMP-LOADED 1", StringComparison.Ordinal))
                throw guest.Failure("the crash kernel was not loaded (kexec -p)");
            // A panic raised in NMI context is printed from NMI-safe buffers; with kdump armed the
            // capture kernel can start before it reaches the console. Its boot proves the panic, and
            // the message is then read from the dump's own log (makedumpfile --dump-dmesg).
            var panic = guest.WaitFor(s.UsesKdump ? PanicOrCaptureKernel() : PanicLine(), TimeSpan.FromMinutes(5), "the kernel to panic");
            panicLine = panic.Groups[1].Success ? panic.Groups[1].Value.Trim() : null;
            progress.WriteLine($"panicked after {clock.Elapsed.TotalSeconds:0} s: {panicLine ?? "(capture kernel booted)"}");
            if (s.UsesKdump)
            {
                guest.WaitFor(new Regex("KDXLAB-CAPTURE-DONE"), TimeSpan.FromMinutes(20), "the capture kernel to finish");
                guest.WaitForExit(TimeSpan.FromMinutes(1), "the capture kernel to power off");
            }
            else
            {
                guest.WaitFor(new Regex(@"---\[ end Kernel panic"), TimeSpan.FromMinutes(2), "the panic to finish");
                foreach (var c in s.Captures)
                {
                    var file = Path.Combine(work, c.Id + ".vmcore");
                    var flag = c.Method switch
                    {
                        CaptureSpec.QemuElf => "",
                        CaptureSpec.QemuKdumpZlib => "-z ",
                        CaptureSpec.QemuKdumpLzo => "-l ",
                        _ => "-s ",
                    };
                    var said = guest.Monitor($"dump-guest-memory {flag}{file}");
                    if (!File.Exists(file) || new FileInfo(file).Length == 0)
                        throw guest.Failure($"QEMU did not write {c.Id}: {said}");
                    captures.Add(new LabCapture(c.ToString(), c.Id, [Path.GetFileName(file)], DumpSignature.Of(file)));
                }
                guest.Quit();
            }
            File.WriteAllLines(Path.Combine(work, "monitor.log"), guest.MonitorLog);
            break;
        }

        var console = File.ReadAllText(Path.Combine(work, "console.log"));
        string? dmesgFile = null;
        for (var i = 0; i < collectors.Count; i++)
        {
            var (id, command, stream) = collectors[i];
            var disk = disks[i];
            var collected = Regex.Match(console, $@"KDXLAB-COLLECTED {devices[i]} rc=(\d+)");
            if (!collected.Success)
                throw new LabException($"collector {id} on {devices[i]} never finished: {Sh.Tail(console, 20)}");
            if (collected.Groups[1].Value != "0")
                throw new LabException($"collector '{command}' failed with rc={collected.Groups[1].Value}: {Sh.Tail(console, 20)}");
            var files = stream ? ExtractStream(console, devices[i], disk, work, id) : ExtractTar(disk, work, id);
            File.Delete(disk);
            if (id == "makedumpfile-dmesg")
            {
                dmesgFile = files.Single();
                continue;
            }
            var spec = s.Captures.Single(c => c.Id == id);
            captures.Add(new LabCapture(spec.ToString(), id, files, DumpSignature.Of(Path.Combine(work, files[0]))));
        }
        File.Delete(initrd);

        var evidence = dmesgFile is null ? console : console + "\n" + File.ReadAllText(Path.Combine(work, dmesgFile));
        panicLine ??= PanicLine().Match(evidence) is { Success: true } fromDump ? fromDump.Groups[1].Value.Trim() : null;
        if (panicLine is null || !ExpectedPanic(s.Crash).IsMatch(evidence))
            throw new LabException($"neither the console nor the dump's log has the expected panic for {s.Crash} ({ExpectedPanic(s.Crash)}); panic seen: {panicLine ?? "none"}");

        var m = new LabMetadata
        {
            Scenario = s.Canonical(),
            Name = name,
            Kernel = s.Kernel,
            KernelPackageVersion = kernel.PackageVersion,
            Flavor = s.Flavor,
            Crash = s.Crash.ToString().ToLowerInvariant(),
            CaptureMethod = s.UsesKdump ? "kdump" : "qemu",
            Captures = captures,
            RamMiB = s.RamMiB,
            Cpus = s.Cpus,
            Kaslr = s.Kaslr,
            La57 = s.La57,
            CrashKernelMiB = s.UsesKdump ? s.CrashKernelMiB : 0,
            ExpectedPanic = ExpectedPanic(s.Crash).ToString(),
            PanicMessage = panicLine,
            MakedumpfileDmesg = dmesgFile,
            InputsHash = inputs,
            BuiltUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            BuildSeconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        File.WriteAllText(Path.Combine(work, LabResult.MetadataFile), JsonSerializer.Serialize(m, LabJson.Default.LabMetadata));
    }

    private static string CollectorCommand(CaptureSpec c)
    {
        if (c.Method == CaptureSpec.KdumpCat)
            return "/lab/vmcopy /proc/vmcore"; // cat's bytes, through mmap (read() is very slow under TCG)
        var tool = c.Method == CaptureSpec.KdumpKdx ? "/lab/kdx capture" : "makedumpfile";
        if (c.IsFlattened)
            return $"{tool} {c.Arguments} /proc/vmcore";
        if (c.IsSplit)
            return $"{tool} {c.Arguments} /proc/vmcore " +
                   string.Join(' ', Enumerable.Range(1, CaptureSpec.SplitParts).Select(i => $"vmcore.{i}"));
        return $"{tool} {c.Arguments} /proc/vmcore vmcore";
    }

    private static List<string> ExtractStream(string console, string dev, string disk, string work, string id)
    {
        var m = Regex.Match(console, $@"KDXLAB-STREAM {dev} (\d+)");
        if (!m.Success)
            throw new LabException($"no stream length reported for {dev}");
        var length = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        if (length == 0)
            throw new LabException($"collector {id} wrote nothing");
        var name = id + ".vmcore";
        using (var src = File.OpenRead(disk))
        using (var dst = File.Create(Path.Combine(work, name)))
        {
            var buf = new byte[1 << 20];
            var left = length;
            while (left > 0)
            {
                var n = src.Read(buf, 0, (int)Math.Min(buf.Length, left));
                if (n <= 0)
                    throw new LabException($"{disk} is shorter than the reported {length} bytes");
                dst.Write(buf, 0, n);
                left -= n;
            }
        }
        return [name];
    }

    private static List<string> ExtractTar(string disk, string work, string id)
    {
        var tmp = Path.Combine(work, "tar-" + id);
        Directory.CreateDirectory(tmp);
        Sh.Run("tar", "-xf", disk, "-C", tmp);
        var files = new List<string>();
        foreach (var f in Directory.GetFiles(tmp).Order(StringComparer.Ordinal))
        {
            var baseName = Path.GetFileName(f);
            var name = baseName switch
            {
                "dmesg.txt" => "makedumpfile-dmesg.txt",
                _ => id + "." + baseName, // vmcore -> ID.vmcore, vmcore.2 -> ID.vmcore.2
            };
            File.Move(f, Path.Combine(work, name));
            files.Add(name);
        }
        Directory.Delete(tmp, true);
        if (files.Count == 0)
            throw new LabException($"collector {id} produced no file");
        return files;
    }
}
