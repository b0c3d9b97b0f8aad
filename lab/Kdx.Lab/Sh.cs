// Runs host programs for the lab and turns failures into LabExceptions with their output.
using System.Diagnostics;
using System.Text;

namespace Kdx.Lab;

public static class Sh
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Try(string file, IEnumerable<string> args, string? workDir = null, string? stdinFile = null,
        string? stdoutFile = null, TimeSpan? timeout = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdinFile is not null,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (env is not null)
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new LabException($"cannot start {file}");
        var stderr = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        Task<string> stdoutTask;
        if (stdoutFile is not null)
        {
            stdoutTask = Task.Run(async () =>
            {
                await using var f = File.Create(stdoutFile);
                await p.StandardOutput.BaseStream.CopyToAsync(f);
                return "";
            });
        }
        else
        {
            stdoutTask = p.StandardOutput.ReadToEndAsync();
        }
        if (stdinFile is not null)
        {
            using (var input = File.OpenRead(stdinFile))
                input.CopyTo(p.StandardInput.BaseStream);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(30)))
        {
            p.Kill(entireProcessTree: true);
            throw new LabException($"{file} {string.Join(' ', psi.ArgumentList)}: timed out");
        }
        p.WaitForExit();
        var stdout = stdoutTask.GetAwaiter().GetResult();
        lock (stderr)
            return new Result(p.ExitCode, stdout, stderr.ToString());
    }

    public static string Run(string file, params string[] args) => RunIn(null, file, args);

    public static string RunIn(string? workDir, string file, params string[] args)
    {
        var r = Try(file, args, workDir);
        if (r.ExitCode != 0)
            throw new LabException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {Tail(r.Stderr + r.Stdout, 15)}");
        return r.Stdout;
    }

    public static string Tail(string text, int lines)
    {
        var all = text.TrimEnd().Split('\n');
        return string.Join('\n', all[Math.Max(0, all.Length - lines)..]);
    }
}
