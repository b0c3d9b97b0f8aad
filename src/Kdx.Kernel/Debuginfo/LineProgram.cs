// One line-number program of .debug_line (DWARF 2-5, 32- and 64-bit DWARF; DWARF 5 section 6.2):
// its header (opcode parameters, directory and file tables, with DWARF 5's entry formats and forms)
// and the state machine that turns its opcodes into rows. The section is untrusted: counts are
// checked against the bytes left, every opcode consumes at least one byte, rows are capped.
namespace Kdx.Kernel.Debuginfo;

/// <summary>Where a string of a line-table header lives: inline in .debug_line, or an offset into .debug_line_str / .debug_str.</summary>
public enum DwarfStringSource : byte
{
    None,
    Inline,
    LineStr,
    Str,
    /// <summary>DW_FORM_strx*: an index into .debug_str_offsets, which needs the unit's str_offsets_base (not read here).</summary>
    Indexed,
}

public readonly record struct DwarfString(DwarfStringSource Source, ulong Offset);

public readonly record struct LineFileEntry(DwarfString Path, ulong Directory);

/// <summary>One row of the line-number matrix.</summary>
public readonly record struct LineRow(ulong Address, ulong File, uint Line, uint Column, uint Discriminator, bool IsStatement, bool EndSequence);

public sealed class LineProgramHeader
{
    // Most directory or file entries accepted in one header.
    public const int MaxEntries = 1 << 20;

    public required int UnitOffset { get; init; }
    /// <summary>Section offset one past this unit.</summary>
    public required int UnitEnd { get; init; }
    /// <summary>Section offset of the first opcode.</summary>
    public required int ProgramOffset { get; init; }
    public required ushort Version { get; init; }
    public required int OffsetSize { get; init; }
    public required byte AddressSize { get; init; }
    public required byte MinimumInstructionLength { get; init; }
    public required byte MaximumOperationsPerInstruction { get; init; }
    public required bool DefaultIsStatement { get; init; }
    public required sbyte LineBase { get; init; }
    public required byte LineRange { get; init; }
    public required byte OpcodeBase { get; init; }
    /// <summary>Operand counts of standard opcodes 1..OpcodeBase-1 (index 0 is opcode 1).</summary>
    public required byte[] StandardOpcodeLengths { get; init; }
    public required IReadOnlyList<DwarfString> Directories { get; init; }
    public required IReadOnlyList<LineFileEntry> Files { get; init; }

    /// <summary>Parses the header of the unit at <paramref name="offset"/> of .debug_line.</summary>
    public static LineProgramHeader Parse(ReadOnlySpan<byte> section, int offset, string file, byte defaultAddressSize = 8)
    {
        var c = new DwarfCursor(section, file, ".debug_line", offset);
        ulong length = c.U32();
        var offsetSize = 4;
        if (length == 0xffffffff)
        {
            length = c.U64();
            offsetSize = 8;
        }
        else if (length >= 0xfffffff0)
            c.Fail($"reserved unit length 0x{length:x}");
        if (length > (ulong)c.Remaining)
            c.Fail($"unit length 0x{length:x} runs past the end of the section ({c.Remaining} bytes left)");
        var unitEnd = c.Position + (int)length;
        // The header is read inside the unit only.
        var h = new DwarfCursor(section[..unitEnd], file, ".debug_line", c.Position);
        var version = h.U16();
        if (version is < 2 or > 5)
            h.Fail($"line table version {version} (2-5 supported)");
        var addressSize = defaultAddressSize;
        if (version >= 5)
        {
            addressSize = h.U8();
            if (addressSize is not (1 or 2 or 4 or 8))
                h.Fail($"address size {addressSize}");
            var segmentSelectorSize = h.U8();
            if (segmentSelectorSize != 0)
                h.Fail($"segment selector size {segmentSelectorSize} (segmented addresses are not supported)");
        }
        var headerLength = h.Sized(offsetSize);
        if (headerLength > (ulong)h.Remaining)
            h.Fail($"header length 0x{headerLength:x} runs past the end of the unit");
        var programOffset = h.Position + (int)headerLength;
        var minInst = h.U8();
        var maxOps = version >= 4 ? h.U8() : (byte)1;
        if (maxOps == 0)
            h.Fail("maximum_operations_per_instruction is 0");
        var defaultIsStmt = h.U8() != 0;
        var lineBase = (sbyte)h.U8();
        var lineRange = h.U8();
        if (lineRange == 0)
            h.Fail("line_range is 0");
        var opcodeBase = h.U8();
        if (opcodeBase == 0)
            h.Fail("opcode_base is 0");
        var lengths = new byte[opcodeBase - 1];
        for (var i = 0; i < lengths.Length; i++)
            lengths[i] = h.U8();
        // The tables end at the program start; anything they claim beyond it is corrupt.
        var tables = new DwarfCursor(section[..programOffset], file, ".debug_line", h.Position);
        IReadOnlyList<DwarfString> dirs;
        IReadOnlyList<LineFileEntry> files;
        if (version >= 5)
        {
            dirs = ReadEntries(ref tables, offsetSize, "directory").ConvertAll(e => e.Path);
            files = ReadEntries(ref tables, offsetSize, "file name");
        }
        else
        {
            var d = new List<DwarfString>();
            while (!AtTableEnd(ref tables))
            {
                if (d.Count >= MaxEntries)
                    tables.Fail($"more than {MaxEntries} include directories");
                d.Add(new DwarfString(DwarfStringSource.Inline, (ulong)tables.SkipCString()));
            }
            tables.U8();
            var f = new List<LineFileEntry>();
            while (!AtTableEnd(ref tables))
            {
                if (f.Count >= MaxEntries)
                    tables.Fail($"more than {MaxEntries} file names");
                f.Add(LegacyFileEntry(ref tables));
            }
            dirs = d;
            files = f;
        }
        return new LineProgramHeader
        {
            UnitOffset = offset, UnitEnd = unitEnd, ProgramOffset = programOffset, Version = version, OffsetSize = offsetSize,
            AddressSize = addressSize, MinimumInstructionLength = minInst, MaximumOperationsPerInstruction = maxOps,
            DefaultIsStatement = defaultIsStmt, LineBase = lineBase, LineRange = lineRange, OpcodeBase = opcodeBase,
            StandardOpcodeLengths = lengths, Directories = dirs, Files = files,
        };
    }

    // A v2-4 table is a list ended by an empty string; reaching the end of the header first is an error.
    private static bool AtTableEnd(ref DwarfCursor c)
    {
        if (c.Remaining <= 0)
            c.Fail("directory or file table runs past the end of the header");
        return c.Data[c.Position] == 0;
    }

    /// <summary>A DWARF 2-4 file entry (also DW_LNE_define_file): name, directory index, mtime, length.</summary>
    internal static LineFileEntry LegacyFileEntry(ref DwarfCursor c)
    {
        var name = c.SkipCString();
        var dir = c.Uleb();
        c.Uleb(); // modification time
        c.Uleb(); // length
        return new LineFileEntry(new DwarfString(DwarfStringSource.Inline, (ulong)name), dir);
    }

    private const ulong DwLnctPath = 1, DwLnctDirectoryIndex = 2;

    /// <summary>DWARF 5 directory or file-name table: a format description, then that many entries.</summary>
    private static List<LineFileEntry> ReadEntries(ref DwarfCursor c, int offsetSize, string what)
    {
        var formatCount = c.U8();
        Span<(ulong Content, ulong Form)> format = stackalloc (ulong, ulong)[formatCount];
        for (var i = 0; i < formatCount; i++)
            format[i] = (c.Uleb(), c.Uleb());
        var count = c.Uleb();
        if (count > 0 && formatCount == 0)
            c.Fail($"{count} {what} entries but no entry format");
        // Every entry takes at least one byte per format item.
        if (count > (ulong)c.Remaining || count > MaxEntries)
            c.Fail($"{count} {what} entries do not fit the header");
        var list = new List<LineFileEntry>((int)count);
        for (ulong n = 0; n < count; n++)
        {
            var path = default(DwarfString);
            ulong dir = 0;
            foreach (var (content, form) in format)
            {
                var value = ReadForm(ref c, form, offsetSize, out var str);
                if (content == DwLnctPath)
                    path = str ?? c.Fail<DwarfString>($"{what} path has non-string form 0x{form:x}");
                else if (content == DwLnctDirectoryIndex)
                    dir = value;
            }
            list.Add(new LineFileEntry(path, dir));
        }
        return list;
    }

    /// <summary>Reads one attribute value of the forms a line-table header may use.</summary>
    private static ulong ReadForm(ref DwarfCursor c, ulong form, int offsetSize, out DwarfString? str)
    {
        str = null;
        switch (form)
        {
            case 0x08: // DW_FORM_string
                str = new DwarfString(DwarfStringSource.Inline, (ulong)c.SkipCString());
                return 0;
            case 0x1f: // DW_FORM_line_strp
                str = new DwarfString(DwarfStringSource.LineStr, c.Sized(offsetSize));
                return 0;
            case 0x0e: // DW_FORM_strp
                str = new DwarfString(DwarfStringSource.Str, c.Sized(offsetSize));
                return 0;
            case 0x1a: // DW_FORM_strx
                str = new DwarfString(DwarfStringSource.Indexed, c.Uleb());
                return 0;
            case 0x25: str = new DwarfString(DwarfStringSource.Indexed, c.U8()); return 0; // DW_FORM_strx1
            case 0x26: str = new DwarfString(DwarfStringSource.Indexed, c.U16()); return 0; // DW_FORM_strx2
            case 0x27: // DW_FORM_strx3
                {
                    ulong v = c.U16();
                    str = new DwarfString(DwarfStringSource.Indexed, v | (ulong)c.U8() << 16);
                    return 0;
                }
            case 0x28: str = new DwarfString(DwarfStringSource.Indexed, c.U32()); return 0; // DW_FORM_strx4
            case 0x0f: return c.Uleb(); // DW_FORM_udata
            case 0x0d: return (ulong)c.Sleb(); // DW_FORM_sdata
            case 0x0b: return c.U8(); // DW_FORM_data1
            case 0x05: return c.U16(); // DW_FORM_data2
            case 0x06: return c.U32(); // DW_FORM_data4
            case 0x07: return c.U64(); // DW_FORM_data8
            case 0x1e: c.Skip(16); return 0; // DW_FORM_data16 (MD5)
            case 0x09: c.Skip(c.Uleb()); return 0; // DW_FORM_block
            case 0x0a: c.Skip(c.U8()); return 0; // DW_FORM_block1
            case 0x03: c.Skip(c.U16()); return 0; // DW_FORM_block2
            case 0x04: c.Skip(c.U32()); return 0; // DW_FORM_block4
            default:
                return c.Fail<ulong>($"form 0x{form:x} in a line table entry format");
        }
    }
}

/// <summary>The line-number state machine of one program (DWARF 5 section 6.2.2 and 6.2.5).</summary>
public static class LineProgram
{
    /// <summary>Most rows one sequence may produce (a corrupt program cannot emit more).</summary>
    public const int MaxRowsPerSequence = 1 << 22;

    /// <summary>Called per row; return false to stop the run.</summary>
    public delegate bool RowSink(in LineRow row, int sequenceStart);

    /// <summary>
    /// Runs the program of <paramref name="header"/> from <paramref name="start"/> (its first opcode,
    /// or the first opcode of a sequence) to the end of the unit, or until <paramref name="sink"/>
    /// returns false. <c>sequenceStart</c> is the offset of the current sequence's first opcode.
    /// DW_LNE_define_file entries are appended to <paramref name="definedFiles"/> when given.
    /// </summary>
    public static void Run(ReadOnlySpan<byte> section, LineProgramHeader header, int start, string file, RowSink sink, List<LineFileEntry>? definedFiles = null)
    {
        var c = new DwarfCursor(section[..header.UnitEnd], file, ".debug_line", start);
        var h = header;
        var lineRange = h.LineRange;
        var maxOps = h.MaximumOperationsPerInstruction;
        // DWARF 5 says the file register starts at 1, but gas (binutils 2.35+) writes DWARF 5
        // programs whose first rows rely on it being 0, the primary source file: the Debian kernel
        // has sequences where file 1 is a header (mmio-mod.c, tests/.../RealLineTableTests). binutils
        // (addr2line) starts at 0 for DWARF 5, which gives the right file there; so do we.
        var initialFile = h.Version >= 5 ? 0UL : 1UL;
        ulong address = 0, fileIndex = initialFile;
        long line = 1;
        uint column = 0, discriminator = 0;
        var opIndex = 0UL;
        var isStmt = h.DefaultIsStatement;
        var sequenceStart = start;
        var rows = 0;

        void Reset()
        {
            address = 0; opIndex = 0; fileIndex = initialFile; line = 1; column = 0; discriminator = 0; isStmt = h.DefaultIsStatement;
        }

        // Operation advance (DWARF 5 6.2.5.1), in both VLIW and the usual max_ops == 1 form.
        void Advance(ulong operationAdvance)
        {
            if (maxOps == 1)
                address += h.MinimumInstructionLength * operationAdvance;
            else
            {
                address += h.MinimumInstructionLength * ((opIndex + operationAdvance) / maxOps);
                opIndex = (opIndex + operationAdvance) % maxOps;
            }
        }

        bool Emit(ref DwarfCursor cur, bool end)
        {
            if (++rows > MaxRowsPerSequence)
                cur.Fail($"a sequence of more than {MaxRowsPerSequence} rows");
            var row = new LineRow(address, fileIndex, (uint)Math.Clamp(line, 0, uint.MaxValue), column, discriminator, isStmt, end);
            discriminator = 0;
            return sink(in row, sequenceStart);
        }

        while (c.Remaining > 0)
        {
            var op = c.U8();
            if (op >= h.OpcodeBase)
            {
                var adjusted = op - h.OpcodeBase;
                Advance((ulong)(adjusted / lineRange));
                line += h.LineBase + adjusted % lineRange;
                if (!Emit(ref c, false))
                    return;
                continue;
            }
            switch (op)
            {
                case 0: // extended opcode
                    {
                        var length = c.Uleb();
                        if (length == 0 || length > (ulong)c.Remaining)
                            c.Fail($"extended opcode length {length} ({c.Remaining} bytes left)");
                        var next = c.Position + (int)length;
                        var sub = c.U8();
                        switch (sub)
                        {
                            case 1: // DW_LNE_end_sequence
                                var more = Emit(ref c, true);
                                Reset();
                                rows = 0;
                                c.Position = next;
                                sequenceStart = next;
                                if (!more)
                                    return;
                                continue;
                            case 2: // DW_LNE_set_address
                                var size = (int)length - 1;
                                if (size is not (1 or 2 or 4 or 8))
                                    c.Fail($"DW_LNE_set_address with a {size}-byte operand");
                                address = c.Sized(size);
                                opIndex = 0;
                                break;
                            case 3: // DW_LNE_define_file (DWARF 2-4)
                                var entry = LineProgramHeader.LegacyFileEntry(ref c);
                                if (definedFiles is not null && definedFiles.Count < LineProgramHeader.MaxEntries)
                                    definedFiles.Add(entry);
                                break;
                            case 4: // DW_LNE_set_discriminator
                                discriminator = (uint)Math.Min(c.Uleb(), uint.MaxValue);
                                break;
                        }
                        if (c.Position > next)
                            c.Fail($"extended opcode {sub} overruns its length {length}");
                        c.Position = next; // unknown (vendor) extended opcodes are skipped by their length
                        break;
                    }
                case 1: // DW_LNS_copy
                    if (!Emit(ref c, false))
                        return;
                    break;
                case 2: // DW_LNS_advance_pc
                    Advance(c.Uleb());
                    break;
                case 3: // DW_LNS_advance_line
                    line += c.Sleb();
                    break;
                case 4: // DW_LNS_set_file
                    fileIndex = c.Uleb();
                    break;
                case 5: // DW_LNS_set_column
                    column = (uint)Math.Min(c.Uleb(), uint.MaxValue);
                    break;
                case 6: // DW_LNS_negate_stmt
                    isStmt = !isStmt;
                    break;
                case 7: // DW_LNS_set_basic_block
                case 10: // DW_LNS_set_prologue_end
                case 11: // DW_LNS_set_epilogue_begin
                    break;
                case 8: // DW_LNS_const_add_pc
                    Advance((ulong)((255 - h.OpcodeBase) / lineRange));
                    break;
                case 9: // DW_LNS_fixed_advance_pc
                    address += c.U16();
                    opIndex = 0;
                    break;
                case 12: // DW_LNS_set_isa
                    c.Uleb();
                    break;
                default: // a standard opcode this reader does not know: skip its ULEB128 operands
                    for (var i = 0; i < h.StandardOpcodeLengths[op - 1]; i++)
                        c.Uleb();
                    break;
            }
        }
    }
}
