// Address -> file:line over a whole .debug_line section. The first lookup runs every program once
// to index its sequences (address range, unit, offset of the sequence's first opcode); a lookup
// then re-runs only the one sequence that covers the address. Nothing but that index stays in
// managed memory: the section itself is the memory-mapped file (or its decompressed copy).
// Choosing a row follows binutils' addr2line: the last row at or below the address in the
// covering sequence; overlapping sequences are trimmed and nested ones dropped, as it does.
namespace Kdx.Kernel.Debuginfo;

/// <summary>A source position: the file path as the line table spells it (directory joined), line, column, discriminator.</summary>
public sealed record SourceLine(string File, uint Line, uint Column, uint Discriminator)
{
    public override string ToString() => $"{File}:{Line}";
}

public sealed class LineTable
{
    /// <summary>Most programs (units) and sequences indexed from one section.</summary>
    public const int MaxUnits = 1 << 20, MaxSequences = 1 << 23;

    private readonly ReadOnlyMemory<byte> _line;
    private readonly ReadOnlyMemory<byte> _lineStr;
    private readonly ReadOnlyMemory<byte> _str;
    private readonly string _file;
    private readonly Lazy<Sequence[]> _sequences;
    private readonly Dictionary<int, LineProgramHeader> _headers = [];

    private readonly record struct Sequence(ulong Low, ulong High, int Unit, int Start);

    /// <param name="file">The debug file's path (for error messages).</param>
    /// <param name="line">.debug_line.</param>
    /// <param name="lineStr">.debug_line_str (DWARF 5 DW_FORM_line_strp), or empty.</param>
    /// <param name="str">.debug_str (DW_FORM_strp), or empty.</param>
    public LineTable(string file, ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineStr, ReadOnlyMemory<byte> str)
    {
        _file = file;
        _line = line;
        _lineStr = lineStr;
        _str = str;
        _sequences = new(BuildIndex, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Number of address ranges (sequences) after trimming; builds the index.</summary>
    public int SequenceCount => _sequences.Value.Length;

    /// <summary>The source position of <paramref name="address"/> (a link-time address of this file), or null when no sequence covers it.</summary>
    public SourceLine? Lookup(ulong address)
    {
        var seqs = _sequences.Value;
        int lo = 0, hi = seqs.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (seqs[mid].Low <= address)
            {
                found = mid;
                lo = mid + 1;
            }
            else
                hi = mid - 1;
        }
        if (found < 0 || address >= seqs[found].High)
            return null;
        var seq = seqs[found];
        var header = Header(seq.Unit);
        LineRow best = default;
        var have = false;
        var defined = new List<LineFileEntry>();
        LineProgram.Run(_line.Span, header, seq.Start, _file, (in LineRow row, int _) =>
        {
            if (row.EndSequence || row.Address > address)
                return false;
            best = row;
            have = true;
            return true;
        }, defined);
        if (!have)
            return null;
        return new SourceLine(FilePath(header, best.File, defined), best.Line, best.Column, best.Discriminator);
    }

    private LineProgramHeader Header(int unit)
    {
        lock (_headers)
        {
            if (!_headers.TryGetValue(unit, out var h))
            {
                if (_headers.Count > 4096)
                    _headers.Clear();
                _headers[unit] = h = LineProgramHeader.Parse(_line.Span, unit, _file);
            }
            return h;
        }
    }

    private Sequence[] BuildIndex()
    {
        var list = new List<Sequence>();
        var span = _line.Span;
        var offset = 0;
        var units = 0;
        while (offset < span.Length)
        {
            if (++units > MaxUnits)
                throw DwarfCursor.Error(_file, ".debug_line", offset, $"more than {MaxUnits} line programs");
            var header = LineProgramHeader.Parse(span, offset, _file);
            var low = ulong.MaxValue;
            var unit = offset;
            LineProgram.Run(span, header, header.ProgramOffset, _file, (in LineRow row, int start) =>
            {
                if (row.Address < low)
                    low = row.Address;
                if (row.EndSequence)
                {
                    if (low < row.Address)
                    {
                        if (list.Count >= MaxSequences)
                            throw DwarfCursor.Error(_file, ".debug_line", start, $"more than {MaxSequences} sequences");
                        list.Add(new Sequence(low, row.Address, unit, start));
                    }
                    low = ulong.MaxValue;
                }
                return true;
            });
            offset = header.UnitEnd; // > offset: a unit is at least its 4-byte length
        }
        list.Sort((a, b) => a.Low != b.Low ? a.Low.CompareTo(b.Low) : b.High.CompareTo(a.High));
        // Make the ranges disjoint: drop a sequence nested in the previous one, start an overlapping one where the previous ends.
        var result = new List<Sequence>(list.Count);
        foreach (var s in list)
        {
            if (result.Count > 0 && s.Low < result[^1].High)
            {
                if (s.High <= result[^1].High)
                    continue;
                result.Add(s with { Low = result[^1].High });
            }
            else
                result.Add(s);
        }
        return [.. result];
    }

    /// <summary>
    /// The path of file <paramref name="index"/> as addr2line builds it: an absolute name as is, else
    /// joined to its directory, and a relative directory joined to the compilation directory (DWARF 5:
    /// directory entry 0; DWARF 2-4 keep it only in .debug_info, so those paths stay relative).
    /// </summary>
    public string FilePath(LineProgramHeader h, ulong index, IReadOnlyList<LineFileEntry>? defined = null)
    {
        var v5 = h.Version >= 5;
        if (!v5 && index == 0)
            return "<unknown>";
        var i = v5 ? index : index - 1;
        LineFileEntry entry;
        if (i < (ulong)h.Files.Count)
            entry = h.Files[(int)i];
        else if (defined is not null && i - (ulong)h.Files.Count < (ulong)defined.Count)
            entry = defined[(int)(i - (ulong)h.Files.Count)];
        else
            return "<unknown>";
        var name = String(h, entry.Path);
        if (IsAbsolute(name))
            return name;
        string? dir = null;
        if (v5)
        {
            if (entry.Directory < (ulong)h.Directories.Count)
                dir = String(h, h.Directories[(int)entry.Directory]);
            if (dir is not null && !IsAbsolute(dir) && entry.Directory != 0 && h.Directories.Count > 0)
                dir = String(h, h.Directories[0]) + "/" + dir;
        }
        else if (entry.Directory != 0 && entry.Directory - 1 < (ulong)h.Directories.Count)
            dir = String(h, h.Directories[(int)(entry.Directory - 1)]);
        return string.IsNullOrEmpty(dir) ? name : dir + "/" + name;
    }

    private static bool IsAbsolute(string path) => path.StartsWith('/');

    /// <summary>Most bytes of one path string.</summary>
    public const int MaxString = 4096;

    private string String(LineProgramHeader h, DwarfString s)
    {
        var (section, name) = s.Source switch
        {
            DwarfStringSource.Inline => (_line, ".debug_line"),
            DwarfStringSource.LineStr => (_lineStr, ".debug_line_str"),
            DwarfStringSource.Str => (_str, ".debug_str"),
            DwarfStringSource.Indexed => (ReadOnlyMemory<byte>.Empty, ""),
            _ => (ReadOnlyMemory<byte>.Empty, ""),
        };
        if (s.Source == DwarfStringSource.Indexed)
            return $"<strx {s.Offset}>";
        if (s.Source == DwarfStringSource.None)
            return "<unknown>";
        if (s.Offset >= (ulong)section.Length)
            throw DwarfCursor.Error(_file, ".debug_line", h.UnitOffset, $"string offset 0x{s.Offset:x} outside {name} ({section.Length} bytes)");
        var rest = section.Span[(int)s.Offset..];
        var nul = rest.IndexOf((byte)0);
        if (nul < 0 || nul > MaxString)
            throw DwarfCursor.Error(_file, name, (long)s.Offset, nul < 0 ? "string runs past the end of the section" : $"string longer than {MaxString} bytes");
        return System.Text.Encoding.UTF8.GetString(rest[..nul]);
    }
}
