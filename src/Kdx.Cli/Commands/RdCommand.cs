// `kdx rd DUMP ADDR`: read memory at a kernel virtual (default) or physical address and print it
// the way crash's rd does: address, values in hex, then the bytes as ASCII.
using System.CommandLine;
using System.Globalization;
using System.Text;
using Kdx.Dump;
using Kdx.Kernel.Arch.X86_64;
using Kdx.Kernel.Memory;

namespace Kdx.Cli.Commands;

public sealed class RdCommand : KdxCommand
{
    private const int MaxCount = 1 << 24;

    public override Command Build()
    {
        var dumpArg = new Argument<string>("DUMP") { Description = "The dump file." };
        var addrArg = new Argument<string>("ADDR") { Description = "Address in hex (0x optional): kernel virtual, or physical with --phys." };
        var phys = new Option<bool>("--phys", "-p") { Description = "ADDR is a physical address." };
        var count = new Option<int>("--count", "-N") { Description = "Number of values to print.", DefaultValueFactory = _ => 1 };
        var w64 = new Option<bool>("--64") { Description = "Print 64-bit values (the default)." };
        var w32 = new Option<bool>("--32") { Description = "Print 32-bit values." };
        var w8 = new Option<bool>("--8") { Description = "Print bytes." };
        var command = new Command("rd", "Read and print memory of the dumped machine, like crash's rd.")
        {
            dumpArg, addrArg, phys, count, w64, w32, w8,
        };
        command.SetAction(parse =>
        {
            var widths = (parse.GetValue(w64) ? 1 : 0) + (parse.GetValue(w32) ? 1 : 0) + (parse.GetValue(w8) ? 1 : 0);
            if (widths > 1)
                throw new UsageException("rd: give only one of --64, --32, --8");
            var size = parse.GetValue(w32) ? 4 : parse.GetValue(w8) ? 1 : 8;
            var n = parse.GetValue(count);
            if (n is < 1 or > MaxCount)
                throw new UsageException($"rd: count must be between 1 and {MaxCount}");
            var address = ParseAddress(parse.GetRequiredValue(addrArg));
            using var dump = DumpFile.Open(parse.GetRequiredValue(dumpArg));
            Action<ulong, Span<byte>> read = parse.GetValue(phys)
                ? dump.Read
                : KernelMemory.Open(dump).Read;
            Print(read, address, n, size, parse.InvocationConfiguration.Output);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static ulong ParseAddress(string text)
    {
        var s = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (s.Length is 0 or > 16 || !ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
            throw new UsageException($"rd: '{text}' is not a hex address");
        return v;
    }

    /// <summary>Prints <paramref name="count"/> values of <paramref name="size"/> bytes, 16 bytes a line.</summary>
    public static void Print(Action<ulong, Span<byte>> read, ulong address, int count, int size, TextWriter o)
    {
        var perLine = 16 / size;
        Span<byte> line = stackalloc byte[16];
        var text = new StringBuilder(80);
        for (var done = 0; done < count; done += perLine)
        {
            var values = Math.Min(perLine, count - done);
            var at = address + (ulong)done * (ulong)size;
            var bytes = line[..(values * size)];
            read(at, bytes);
            text.Clear();
            text.Append(at.ToString("x16", CultureInfo.InvariantCulture)).Append(": ");
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
                    _ => v[0].ToString("x2", CultureInfo.InvariantCulture),
                });
            }
            text.Append("   ");
            foreach (var b in bytes)
                text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
            o.WriteLine(text.ToString().TrimEnd());
        }
    }
}
