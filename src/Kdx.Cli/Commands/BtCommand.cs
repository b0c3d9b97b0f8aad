// `kdx bt DUMP [PID|TASKADDR]`, `-c CPU`, `-a`, `-f`, `--json`: backtraces from the dump alone
// (kallsyms, BTF, ORC tables in the dump), printed in crash's shape: a PID/TASK/CPU/COMMAND
// header, ` #N [stack slot] function at ip` lines, entry pt_regs as register blocks
// ("[exception RIP: ...]" for kernel ones), `--- <X stack> ---` when the walk changes stacks, and
// an "(unwind stopped: ...)" line when it ends anywhere but the bottom of a stack.
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Unwind;

namespace Kdx.Cli.Commands;

public sealed class BtCommand : KdxCommand
{
    public override Command Build()
    {
        var dumps = new Argument<string>("DUMP") { Description = "The dump file." };
        var target = new Argument<string?>("TASK") { Description = "A pid (decimal) or a task_struct address (hex, 0x...). Default: the task that panicked.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all", "-a") { Description = "The task running on every CPU." };
        var cpu = new Option<int?>("--cpu", "-c") { Description = "The task running on this CPU." };
        var full = new Option<bool>("--full", "-f") { Description = "Also print the stack words of each frame." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also say how the stack was unwound (ORC table and orc_entry layout used, or why frame pointers)." };
        var command = new Command("bt", "Backtrace of a task, from the dump's own kallsyms, BTF and ORC tables (no debuginfo).")
        {
            dumps, target, all, cpu, full, json, verbose,
        };
        var source = new SourceLineOptions();
        source.AddTo(command, withSource: false);
        command.SetAction(parse =>
        {
            var t = parse.GetValue(target);
            var c = parse.GetValue(cpu);
            if ((t is not null ? 1 : 0) + (c is not null ? 1 : 0) + (parse.GetValue(all) ? 1 : 0) > 1)
                throw new UsageException("bt: give at most one of TASK, --cpu, --all");
            if (c is < 0)
                throw new UsageException("bt: --cpu must not be negative");
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumps));
            var kernel = new DumpedKernel(KernelMemory.Open(dump), dump.VmcoreInfo!);
            var bt = new Backtracer(kernel, dump.Cpus);
            var traces = new List<Backtrace>();
            if (parse.GetValue(all))
            {
                for (var i = 0; i < bt.CpuCount; i++)
                    traces.Add(bt.ForCpu(i));
            }
            else if (c is { } n)
            {
                if (n < 0 || n >= bt.CpuCount)
                    throw new UsageException($"bt: the dump has registers of CPUs 0..{bt.CpuCount - 1}");
                traces.Add(bt.ForCpu(n));
            }
            else if (t is not null)
                traces.Add(bt.ForTask(ResolveTask(kernel, t)));
            else
            {
                var panic = bt.PanicCpu() ?? throw new UsageException("bt: neither panic_cpu nor crashing_cpu names a CPU of this dump; use --cpu N or --all");
                traces.Add(bt.ForCpu(panic));
            }
            var o = parse.InvocationConfiguration.Output;
            using var lines = source.Open(parse, kernel, parse.GetValue(json) ? parse.InvocationConfiguration.Error : o);
            if (parse.GetValue(json))
                WriteJson(kernel, traces, o, lines);
            else
                for (var i = 0; i < traces.Count; i++)
                {
                    if (i > 0)
                        o.WriteLine();
                    Write(kernel, bt, traces[i], parse.GetValue(full), o, lines);
                    if (parse.GetValue(verbose) && traces[i].Method == UnwindMethod.Orc)
                        o.WriteLine($"(unwound with {traces[i].MethodDetail})");
                }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static ulong ResolveTask(DumpedKernel kernel, string text)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.Length > 10)
            return RdCommand.ParseAddress(text);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            throw new UsageException($"bt: '{text}' is neither a pid nor a task address");
        return UnwindTask.FindByPid(kernel, pid) ?? throw new UsageException($"bt: no task with pid {pid}");
    }

    public static string Header(Backtrace b) =>
        string.Create(CultureInfo.InvariantCulture,
            $"PID: {b.Task.Pid,-8} TASK: {b.Task.Address:x16}  CPU: {(b.Cpu is { } c ? c.ToString(CultureInfo.InvariantCulture) : "-"),-4} COMMAND: \"{b.Task.Comm}\"");

    public static void Write(DumpedKernel kernel, Backtracer bt, Backtrace b, bool full, TextWriter o, FrameLines? lines = null)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(Header(b));
        for (var i = 0; i < b.Frames.Count; i++)
        {
            var f = b.Frames[i];
            if (f.Stack != "user")
                o.WriteLine(string.Create(inv, $"{"#" + f.Index.ToString(inv),3} [{f.Slot:x16}] {f.Name} at {f.Ip:x16}{(f.Module is { } mod ? $" [{mod}]" : "")}{(f.FramePointerGuess ? " (frame pointer)" : "")}{(f.CfaFromCode ? " (no ORC: CFA from code)" : "")}"));
            if (lines?.ForFrame(b, f) is { } line)
                o.WriteLine("    " + FrameLines.Format(line));
            if (full && i + 1 < b.Frames.Count && b.Frames[i + 1].Stack == f.Stack && f.Regs is null)
                WriteWords(kernel, f.Slot + 8, b.Frames[i + 1].Slot, o);
            if (f.Regs is { } r)
                WriteRegs(bt, r, o);
            if (f.StackLeft is { } s)
                o.WriteLine($"--- <{s}> ---");
        }
        if (!b.ReachedEnd)
            o.WriteLine($"(unwind stopped: {b.StopReason})");
        if (b.Method != UnwindMethod.Orc)
            o.WriteLine($"(unwound with {b.MethodDetail})");
    }

    private static void WriteWords(DumpedKernel kernel, ulong from, ulong to, TextWriter o)
    {
        const int MaxWords = 512;
        var line = new StringBuilder();
        var words = 0;
        for (var a = from; a < to && words < MaxWords; a += 8, words++)
        {
            if (words % 2 == 0)
            {
                if (line.Length > 0)
                    o.WriteLine(line.ToString());
                line.Clear().Append(CultureInfo.InvariantCulture, $"    {a:x16}: ");
            }
            try
            {
                line.Append(CultureInfo.InvariantCulture, $"{kernel.Memory.ReadU64(a):x16} ");
            }
            catch (Exception e) when (e is PageNotInDumpException or UnmappedAddressException)
            {
                line.Append("(not in dump)    ");
            }
        }
        if (line.Length > 0)
            o.WriteLine(line.ToString().TrimEnd());
    }

    private static readonly (string Label, int Index)[][] RegLines =
    [
        [("RAX", RegisterSet.Ax), ("RBX", RegisterSet.Bx), ("RCX", RegisterSet.Cx)],
        [("RDX", RegisterSet.Dx), ("RSI", RegisterSet.Si), ("RDI", RegisterSet.Di)],
        [("RBP", RegisterSet.Bp), (" R8", RegisterSet.R8), (" R9", RegisterSet.R9)],
        [("R10", RegisterSet.R10), ("R11", RegisterSet.R11), ("R12", RegisterSet.R12)],
        [("R13", RegisterSet.R13), ("R14", RegisterSet.R14), ("R15", RegisterSet.R15)],
    ];

    public static void WriteRegs(Backtracer bt, RegisterSet r, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        if (!r.UserMode)
        {
            var at = bt.Resolve(r.InstructionPointer).Symbol is { } s
                ? string.Create(inv, $"{s.Symbol.Name}+{s.Offset}")
                : string.Create(inv, $"{r.InstructionPointer:x}");
            o.WriteLine($"    [exception RIP: {at}]");
        }
        o.WriteLine(string.Create(inv, $"    RIP: {r[RegisterSet.Ip]:x16}  RSP: {r[RegisterSet.Sp]:x16}  RFLAGS: {r[RegisterSet.Flags]:x8}"));
        if (r.Full)
        {
            foreach (var line in RegLines)
                o.WriteLine("    " + string.Join("  ", line.Select(p => string.Create(inv, $"{p.Label}: {r[p.Index]:x16}"))));
            o.WriteLine(string.Create(inv, $"    ORIG_RAX: {r[RegisterSet.OrigAx]:x16}  CS: {r[RegisterSet.Cs]:x4}  SS: {r[RegisterSet.Ss]:x4}"));
        }
        else
            o.WriteLine(string.Create(inv, $"    CS: {r[RegisterSet.Cs]:x4}  SS: {r[RegisterSet.Ss]:x4}  (iret frame only)"));
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    public static void WriteJson(DumpedKernel kernel, IReadOnlyList<Backtrace> traces, TextWriter o, FrameLines? lines = null)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var b in traces)
            {
                w.WriteStartObject();
                w.WriteNumber("pid", b.Task.Pid);
                w.WriteString("task", Hex(b.Task.Address));
                if (b.Cpu is { } c)
                    w.WriteNumber("cpu", c);
                else
                    w.WriteNull("cpu");
                w.WriteString("command", b.Task.Comm);
                w.WriteBoolean("active", b.Active);
                w.WriteString("method", b.Method == UnwindMethod.Orc ? "orc" : "frame-pointer");
                w.WriteString("methodDetail", b.MethodDetail);
                w.WriteStartArray("frames");
                foreach (var f in b.Frames)
                {
                    w.WriteStartObject();
                    if (lines?.ForFrame(b, f) is { } line)
                    {
                        w.WriteString("file", line.File);
                        w.WriteNumber("line", line.Line);
                    }
                    if (f.Stack == "user")
                        w.WriteBoolean("user", true);
                    else
                    {
                        w.WriteNumber("index", f.Index);
                        w.WriteString("slot", Hex(f.Slot));
                        w.WriteString("ip", Hex(f.Ip));
                        w.WriteString("function", f.Symbol?.Symbol.Name);
                        if (f.Module is { } mod)
                            w.WriteString("module", mod);
                        w.WriteNumber("offset", f.Symbol?.Offset ?? 0);
                        w.WriteString("stack", f.Stack);
                        if (f.FramePointerGuess)
                            w.WriteBoolean("framePointer", true);
                    }
                    if (f.Regs is { } r)
                    {
                        w.WriteStartObject("regs");
                        w.WriteBoolean("user", r.UserMode);
                        w.WriteBoolean("full", r.Full);
                        for (var i = r.Full ? 0 : RegisterSet.IretFirst; i < r.Values.Length; i++)
                            w.WriteString(RegisterSet.PtRegsMembers[i], Hex(r.Values[i]));
                        w.WriteEndObject();
                    }
                    if (f.StackLeft is { } s)
                        w.WriteString("stackLeft", s);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteBoolean("complete", b.ReachedEnd);
                w.WriteString("stopReason", b.StopReason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        o.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }
}
