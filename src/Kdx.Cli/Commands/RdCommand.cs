// `kdx rd DUMP ADDR|SYMBOL [COUNT]`: read memory at a kernel virtual (default) or physical (-p)
// address and print it the way crash's rd does: address, values in hex, then the bytes as ASCII.
// Symbols come from the dump's own kallsyms; options follow crash (-8/-16/-32/-64, -p, -x).
using System.CommandLine;
using System.Globalization;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;
using Kdx.Kernel.Symbols;

namespace Kdx.Cli.Commands;

public sealed class RdCommand : KdxCommand
{
    private const int MaxCount = 1 << 24;

    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var addrArg = new Argument<string>("ADDR") { Description = "Address in hex (0x optional), or SYMBOL[+offset] from the dump's kallsyms: kernel virtual, or physical with -p." };
        var countArg = new Argument<int?>("COUNT") { Description = "Number of values to print (default 1), as in crash's rd.", Arity = ArgumentArity.ZeroOrOne };
        var phys = new Option<bool>("--phys", "-p") { Description = "ADDR is a physical address." };
        var count = new Option<int?>("--count", "-N") { Description = "Number of values to print (the same as COUNT)." };
        var w64 = new Option<bool>("--64", "-64") { Description = "Print 64-bit values (the default)." };
        var w32 = new Option<bool>("--32", "-32") { Description = "Print 32-bit values." };
        var w16 = new Option<bool>("--16", "-16") { Description = "Print 16-bit values." };
        var w8 = new Option<bool>("--8", "-8") { Description = "Print bytes." };
        var noAscii = new Option<bool>("--no-ascii", "-x") { Description = "Leave out the ASCII column." };
        var command = new Command("rd", "Read and print memory of the dumped machine, in crash's rd format.")
        {
            dumpArg, addrArg, countArg, phys, count, w64, w32, w16, w8, noAscii,
        };
        command.SetAction(parse =>
        {
            var widths = new[] { w64, w32, w16, w8 }.Count(o => parse.GetValue(o));
            if (widths > 1)
                throw new UsageException("rd: give only one of -64, -32, -16, -8");
            var size = parse.GetValue(w32) ? 4 : parse.GetValue(w16) ? 2 : parse.GetValue(w8) ? 1 : 8;
            if (parse.GetValue(countArg) is not null && parse.GetValue(count) is not null)
                throw new UsageException("rd: give the count once (COUNT or -N)");
            var n = parse.GetValue(countArg) ?? parse.GetValue(count) ?? 1;
            if (n is < 1 or > MaxCount)
                throw new UsageException($"rd: count must be between 1 and {MaxCount}");
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            var address = Resolve(dump, parse.GetRequiredValue(addrArg));
            Action<ulong, Span<byte>> read = parse.GetValue(phys)
                ? dump.Read
                : KernelMemory.Open(dump).Read;
            Print(read, address, n, size, parse.InvocationConfiguration.Output, ascii: !parse.GetValue(noAscii));
            return ExitCodes.Ok;
        });
        return command;
    }

    // A hex number is an address (as in crash, hex wins over a symbol of the same spelling); anything
    // else is a symbol: VMCOREINFO's SYMBOL() first (no decoding needed), then the dump's kallsyms.
    private static ulong Resolve(IDumpFile dump, string text)
    {
        if (TryParseHex(text, out var address))
            return address;
        var info = dump.VmcoreInfo
            ?? throw new UsageException($"rd: '{text}' is not a hex address, and the dump has no VMCOREINFO to find symbols in");
        if (info.Symbol(text) is { } known)
            return known;
        SymbolTable symbols;
        try
        {
            symbols = new DumpedKernel(KernelMemory.Open(dump), info).Symbols;
        }
        catch (DumpFormatException e)
        {
            throw new UsageException($"rd: '{text}' is not a hex address, and the dump's kallsyms cannot be read: {e.Problem}", ExitCodes.BadInput);
        }
        return DisCommand.Parse(symbols, text, "rd").Address;
    }

    private static bool TryParseHex(string text, out ulong value)
    {
        var s = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        value = 0;
        return s.Length is > 0 and <= 16 && ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    public static ulong ParseAddress(string text) =>
        TryParseHex(text, out var v) ? v : throw new UsageException($"rd: '{text}' is not a hex address");

    /// <summary>
    /// Prints <paramref name="count"/> values of <paramref name="size"/> bytes, 16 bytes a line, as
    /// crash's rd does: the address right-aligned in 16 columns, two spaces, each value in hex and a
    /// space, then (unless <paramref name="ascii"/> is off) the bytes as ASCII, aligned on the last line.
    /// </summary>
    public static void Print(Action<ulong, Span<byte>> read, ulong address, int count, int size, TextWriter o, bool ascii = true)
    {
        var perLine = 16 / size;
        Span<byte> line = stackalloc byte[16];
        var text = new StringBuilder(96);
        for (var done = 0; done < count; done += perLine)
        {
            var values = Math.Min(perLine, count - done);
            var at = address + (ulong)done * (ulong)size;
            var bytes = line[..(values * size)];
            read(at, bytes);
            text.Clear();
            text.Append(at.ToString("x", CultureInfo.InvariantCulture).PadLeft(16)).Append(": ");
            for (var i = 0; i < perLine; i++)
            {
                text.Append(' ');
                if (i >= values)
                {
                    text.Append(' ', size * 2);
                    continue;
                }
                var v = bytes.Slice(i * size, size);
                text.Append(size switch
                {
                    8 => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(v).ToString("x16", CultureInfo.InvariantCulture),
                    4 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(v).ToString("x8", CultureInfo.InvariantCulture),
                    2 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(v).ToString("x4", CultureInfo.InvariantCulture),
                    _ => v[0].ToString("x2", CultureInfo.InvariantCulture),
                });
            }
            if (ascii)
            {
                text.Append("   ");
                foreach (var b in bytes)
                    text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
                o.WriteLine(text.ToString());
            }
            else
            {
                o.WriteLine(text.ToString().TrimEnd());
            }
        }
    }
}
