// Parser for nmimgr's code lists: the kernel's bitmap_parselist() over 256 bits, step for step, so kdx accepts exactly what the module accepts.
using System.Text;

namespace Kdx.Setup.Nmi;

/// <summary>Why a list was rejected, named after the errno bitmap_parselist() returns for it.</summary>
public enum NmiListErrorKind
{
    /// <summary>EINVAL: a character or region shape the syntax does not allow (also "5-3").</summary>
    Invalid,
    /// <summary>ERANGE: a code above 255.</summary>
    Range,
    /// <summary>EOVERFLOW: a number that does not fit in 32 bits.</summary>
    Overflow,
}

/// <summary>A rejected list: the errno kind, the byte offset where the kernel gave up, and a message naming both.</summary>
public sealed record NmiListError(NmiListErrorKind Kind, string Input, int Offset, string Reason)
{
    public string Errno => Kind switch
    {
        NmiListErrorKind.Range => "ERANGE",
        NmiListErrorKind.Overflow => "EOVERFLOW",
        _ => "EINVAL",
    };

    public string Message => $"invalid NMI code list \"{Input.TrimEnd('\n')}\": {Reason} at offset {Offset} ({Errno})";
}

public sealed class NmiListException(NmiListError error) : FormatException(error.Message)
{
    public NmiListError Error { get; } = error;
}

/// <summary>
/// The kernel list syntax nmimgr hands to bitmap_parselist(): comma or whitespace separated
/// regions, each a code ("13"), a range ("10-100"), or a range with a stride pattern
/// ("0-255:2/16": the first 2 of every 16); "N" stands for 255 and "all" for 0-255. Parsing runs
/// over the UTF-8 bytes with the kernel's isspace(), and stops at NUL, so every quirk matches
/// Linux 5.13+ (older kernels lack "N" and "all"; <see cref="NmiCodeSet.ToString"/> writes only
/// the plain form every kernel reads).
/// </summary>
public static class NmiCodeList
{
    private const int LastCode = NmiCodeSet.CodeCount - 1;

    public static NmiCodeSet Parse(string text) =>
        TryParse(text, out var set, out var error) ? set : throw new NmiListException(error!);

    public static bool TryParse(string text, out NmiCodeSet set, out NmiListError? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        var p = new Cursor(bytes);
        set = NmiCodeSet.Empty;
        error = null;

        while (true)
        {
            // bitmap_find_region: commas and whitespace may precede a region.
            while (IsRegionEnd(p.Peek))
                p.Pos++;
            if (IsStringEnd(p.Peek))
                return true;

            var step = ParseRegion(ref p, out var r);
            if (step is { } err)
                return Fail(text, err, out error);

            // bitmap_check_region
            if (r.Start > r.End)
                return Fail(text, new(NmiListErrorKind.Invalid, r.At, $"range {r.Start}-{r.End} runs backwards"), out error);
            if (r.GroupLen == 0)
                return Fail(text, new(NmiListErrorKind.Invalid, r.At, "group size 0"), out error);
            if (r.Off > r.GroupLen)
                return Fail(text, new(NmiListErrorKind.Invalid, r.At, $"{r.Off} used of a group of {r.GroupLen}"), out error);
            if (r.End > LastCode)
                return Fail(text, new(NmiListErrorKind.Range, r.At, $"code {r.End} is above {LastCode}"), out error);

            // bitmap_set_region
            for (var start = r.Start; start <= r.End; start += r.GroupLen)
                set = set.WithRange((int)start, (int)(start + Math.Min(r.End - start + 1, r.Off) - 1));

            if (r.Done)
                return true;
        }
    }

    private static bool Fail(string text, Failure f, out NmiListError? error)
    {
        error = new NmiListError(f.Kind, text, f.Offset, f.Reason);
        return false;
    }

    private readonly record struct Failure(NmiListErrorKind Kind, int Offset, string Reason);

    private record struct Region(uint Start, uint End, uint Off, uint GroupLen, int At, bool Done);

    private ref struct Cursor(byte[] bytes)
    {
        private readonly byte[] _bytes = bytes;
        public int Pos;

        /// <summary>The byte at the cursor; NUL past the end, as the kernel's string ends.</summary>
        public readonly byte Peek => Pos < _bytes.Length ? _bytes[Pos] : (byte)0;

        public readonly bool StartsWithAll() =>
            Pos + 3 <= _bytes.Length && (_bytes[Pos] | 0x20) == 'a' && (_bytes[Pos + 1] | 0x20) == 'l' && (_bytes[Pos + 2] | 0x20) == 'l';
    }

    /// <summary>bitmap_parse_region: one region, leaving the cursor where the next search starts.</summary>
    private static Failure? ParseRegion(ref Cursor p, out Region r)
    {
        r = new Region { At = p.Pos };
        uint start, end;
        if (p.StartsWithAll())
        {
            start = 0;
            end = LastCode;
            p.Pos += 3;
        }
        else
        {
            if (GetNum(ref p, out start) is { } e1)
                return e1;
            if (IsRegionOrStringEnd(p.Peek))
                return Plain(ref p, ref r, start, start);
            if (p.Peek != '-')
                return new(NmiListErrorKind.Invalid, p.Pos, $"unexpected '{Show(p.Peek)}'");
            p.Pos++;
            if (GetNum(ref p, out end) is { } e2)
                return e2;
        }

        // check_pattern
        if (IsRegionOrStringEnd(p.Peek))
            return Plain(ref p, ref r, start, end);
        if (p.Peek != ':')
            return new(NmiListErrorKind.Invalid, p.Pos, $"unexpected '{Show(p.Peek)}'");
        p.Pos++;
        if (GetNum(ref p, out var off) is { } e3)
            return e3;
        if (p.Peek != '/')
            return new(NmiListErrorKind.Invalid, p.Pos, "expected '/' in a used/group pattern");
        p.Pos++;
        if (GetNum(ref p, out var group) is { } e4)
            return e4;
        // The kernel returns right after the group size; whatever follows is the next region's problem.
        r = r with { Start = start, End = end, Off = off, GroupLen = group, Done = false };
        return null;
    }

    private static Failure? Plain(ref Cursor p, ref Region r, uint start, uint end)
    {
        r = r with { Start = start, End = end, Off = end + 1, GroupLen = end + 1, Done = IsStringEnd(p.Peek) };
        return null;
    }

    /// <summary>bitmap_getnum: "N" is the last code; else decimal digits that must fit in 32 bits.</summary>
    private static Failure? GetNum(ref Cursor p, out uint num)
    {
        num = 0;
        if (p.Peek == 'N')
        {
            num = LastCode;
            p.Pos++;
            return null;
        }
        var at = p.Pos;
        ulong n = 0;
        var overflow = false;
        while (p.Peek is >= (byte)'0' and <= (byte)'9')
        {
            var d = (ulong)(p.Peek - '0');
            if (n > (ulong.MaxValue - d) / 10)
                overflow = true;
            n = unchecked(n * 10 + d);
            p.Pos++;
        }
        if (p.Pos == at)
            return new(NmiListErrorKind.Invalid, at, p.Peek == 0 ? "expected a number, found the end" : $"expected a number, found '{Show(p.Peek)}'");
        if (overflow || n > uint.MaxValue)
            return new(NmiListErrorKind.Overflow, at, "number too large");
        num = (uint)n;
        return null;
    }

    /// <summary>The kernel's isspace(): \t \n \v \f \r, space and Latin-1 NBSP (0xa0).</summary>
    private static bool IsSpace(byte c) => c is (>= 9 and <= 13) or 32 or 0xa0;

    private static bool IsStringEnd(byte c) => c is 0 or (byte)'\n';

    private static bool IsRegionEnd(byte c) => IsSpace(c) || c == ',';

    private static bool IsRegionOrStringEnd(byte c) => IsRegionEnd(c) || IsStringEnd(c);

    private static string Show(byte c) => c is >= 0x20 and < 0x7f ? ((char)c).ToString() : $"\\x{c:x2}";
}
