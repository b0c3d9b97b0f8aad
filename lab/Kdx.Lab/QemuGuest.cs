// One QEMU (TCG) guest: its serial console goes to a file the host reads, its monitor to a unix
// socket. The guest's /init prints KDXLAB-* lines; "KDXLAB-MONITOR <cmd>" runs <cmd> on the monitor.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Kdx.Lab;

public sealed class QemuGuest : IDisposable
{
    private readonly Process _qemu;
    private readonly string _monitorPath;
    private Socket? _monitor;
    private long _scanned;           // console bytes already looked at for MONITOR requests
    private readonly List<string> _monitorLog = [];

    public string ConsoleLog { get; }

    private QemuGuest(Process qemu, string consoleLog, string monitorPath)
    {
        _qemu = qemu;
        ConsoleLog = consoleLog;
        _monitorPath = monitorPath;
    }

    public sealed record Options(
        string Kernel, string Initrd, string Cmdline, int RamMiB, int Cpus, bool La57,
        IReadOnlyList<string> Disks, bool VmcoreInfoDevice);

    public static QemuGuest Start(Options o, string dir)
    {
        var console = Path.Combine(dir, "console.log");
        // Unix socket paths are limited to 108 bytes: keep the monitor in /tmp.
        var monitor = Path.Combine(Path.GetTempPath(), $"kdxlab-{Environment.ProcessId}-{Guid.NewGuid():N}.sock"[..40] + ".sock");
        File.Delete(console);
        File.Delete(monitor);
        var psi = new ProcessStartInfo("qemu-system-x86_64")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        var args = new List<string>
        {
            "-accel", "tcg", "-m", $"{o.RamMiB}M", "-smp", $"{o.Cpus}",
            "-cpu", o.La57 ? "qemu64,+la57" : "qemu64",
            "-nodefaults", "-no-reboot", "-display", "none",
            "-serial", $"file:{console}",
            "-monitor", $"unix:{monitor},server,nowait",
            "-kernel", o.Kernel, "-initrd", o.Initrd, "-append", o.Cmdline,
        };
        if (o.VmcoreInfoDevice)
            args.AddRange(["-device", "vmcoreinfo"]);
        foreach (var d in o.Disks)
            args.AddRange(["-drive", $"file={d},format=raw,if=virtio"]);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        File.WriteAllText(Path.Combine(dir, "qemu.cmdline"), "qemu-system-x86_64 " + string.Join(' ', args.Select(Quote)) + "\n");
        var p = Process.Start(psi) ?? throw new LabException("cannot start qemu-system-x86_64");
        p.StandardInput.Close();
        return new QemuGuest(p, console, monitor);
    }

    private static string Quote(string a) => a.Contains(' ') ? $"'{a}'" : a;

    public bool HasExited => _qemu.HasExited;

    public string Console => File.Exists(ConsoleLog) ? ReadShared(ConsoleLog) : "";

    private static string ReadShared(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(f, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>
    /// Waits for a console line matching <paramref name="pattern"/>; serves MONITOR requests meanwhile.
    /// With <paramref name="stall"/>, a console that prints nothing for that long throws
    /// <see cref="GuestStalledException"/> (the caller may boot again) instead of waiting out the timeout.
    /// </summary>
    public Match WaitFor(Regex pattern, TimeSpan timeout, string what, TimeSpan? stall = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var (length, since) = (-1, DateTime.UtcNow);
        while (true)
        {
            var text = Console;
            ServeMonitorRequests(text);
            var m = pattern.Match(text);
            if (m.Success)
                return m;
            if (_qemu.HasExited)
                throw Failure($"QEMU exited ({_qemu.ExitCode}) before {what}: {_qemu.StandardError.ReadToEnd().Trim()}");
            if (DateTime.UtcNow > deadline)
                throw Failure($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
            if (text.Length != length)
                (length, since) = (text.Length, DateTime.UtcNow);
            else if (stall is { } quiet && DateTime.UtcNow - since > quiet)
            {
                var lines = text.TrimEnd().Split('\n');
                throw new GuestStalledException($"the console printed nothing for {quiet.TotalSeconds:0} s while waiting for {what} (last line: {lines[^1].Trim()})");
            }
            Thread.Sleep(200);
        }
    }

    public void WaitForExit(TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_qemu.WaitForExit(200))
        {
            ServeMonitorRequests(Console);
            if (DateTime.UtcNow > deadline)
                throw Failure($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
        }
    }

    private void ServeMonitorRequests(string text)
    {
        const string tag = "KDXLAB-MONITOR ";
        while (true)
        {
            var i = text.IndexOf(tag, (int)Math.Min(_scanned, text.Length), StringComparison.Ordinal);
            if (i < 0)
                return;
            var end = text.IndexOf('\n', i);
            if (end < 0)
                return; // line not complete yet
            _scanned = end + 1;
            var cmd = text[(i + tag.Length)..end].Trim();
            Monitor(cmd);
        }
    }

    /// <summary>Runs one HMP monitor command and returns its output.</summary>
    public string Monitor(string command, TimeSpan? timeout = null)
    {
        if (_monitor is null)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(_monitorPath));
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(200);
                }
            }
            _monitor = s;
            ReadUntilPrompt(TimeSpan.FromSeconds(30));
        }
        _monitor.Send(Encoding.ASCII.GetBytes(command + "\n"));
        var output = ReadUntilPrompt(timeout ?? TimeSpan.FromMinutes(10));
        lock (_monitorLog)
            _monitorLog.Add($"(qemu) {command}\n{output}");
        return output;
    }

    /// <summary>Ends the guest through the monitor and waits for QEMU to exit.</summary>
    public void Quit()
    {
        if (_qemu.HasExited)
            return;
        try
        {
            Monitor("quit");
        }
        catch (LabException) when (_qemu.WaitForExit(30_000))
        {
            // "quit" closes the monitor without a prompt.
        }
    }

    public IReadOnlyList<string> MonitorLog { get { lock (_monitorLog) return [.. _monitorLog]; } }

    private string ReadUntilPrompt(TimeSpan timeout)
    {
        var sb = new StringBuilder();
        var buf = new byte[4096];
        var deadline = DateTime.UtcNow + timeout;
        _monitor!.ReceiveTimeout = 1000;
        while (!sb.ToString().EndsWith("(qemu) ", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
                throw Failure("QEMU monitor did not answer");
            try
            {
                var n = _monitor.Receive(buf);
                if (n == 0)
                    throw Failure("QEMU monitor closed");
                sb.Append(Encoding.ASCII.GetString(buf, 0, n));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
        }
        // HMP echoes with terminal escapes; keep the printable text between the echo and the prompt.
        var text = Regex.Replace(sb.ToString(), @"\x1b\[[0-9;]*[A-Za-z]", "");
        return text[..^"(qemu) ".Length].Trim();
    }

    public LabException Failure(string why) =>
        new($"{why}\n--- console tail ({ConsoleLog}) ---\n{Sh.Tail(Console, 25)}");

    public void Dispose()
    {
        _monitor?.Dispose();
        File.Delete(_monitorPath);
        if (!_qemu.HasExited)
        {
            _qemu.Kill(entireProcessTree: true);
            _qemu.WaitForExit();
        }
        _qemu.Dispose();
    }
}
