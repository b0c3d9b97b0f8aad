// The line-number state machine on hand-built DWARF 4 and DWARF 5 programs (every standard opcode,
// special opcodes, extended opcodes, two sequences), and bounds tests: malformed headers and
// programs give DumpFormatException naming .debug_line and the offset, never another exception.
using CsCheck;
using Kdx.Dump;
using Kdx.Kernel.Debuginfo;
using static Kdx.Kernel.Tests.Debuginfo.LineUnitSamples;

namespace Kdx.Kernel.Tests.Debuginfo;

public sealed class LineProgramTests
{
    [Fact]
    public void V4_program_rows_follow_the_state_machine()
    {
        var unit = V4();
        var h = LineProgramHeader.Parse(unit, 0, "test");
        Assert.Equal(4, h.Version);
        Assert.Equal(2, h.Files.Count);
        var rows = new List<LineRow>();
        LineProgram.Run(unit, h, h.ProgramOffset, "test", (in LineRow r, int _) => { rows.Add(r); return true; });
        Assert.Equal(
        [
            new LineRow(0x1000, 1, 10, 0, 0, true, false),
            new LineRow(0x1003, 1, 11, 0, 0, true, false),
            new LineRow(0x1008, 2, 3, 4, 0, false, false),
            new LineRow(0x1029, 2, 3, 4, 7, false, false),
            new LineRow(0x102d, 2, 3, 4, 0, false, true),
            new LineRow(0x2000, 1, 1, 0, 0, true, false),
            new LineRow(0x2002, 1, 1, 0, 0, true, true),
        ], rows);
    }

    [Theory]
    [InlineData(4, 0x0fff, null)]
    [InlineData(4, 0x1000, "a.c:10")]
    [InlineData(4, 0x1002, "a.c:10")]
    [InlineData(4, 0x1003, "a.c:11")]
    [InlineData(4, 0x1008, "inc/b.h:3")]
    [InlineData(4, 0x1028, "inc/b.h:3")]
    [InlineData(4, 0x102c, "inc/b.h:3")]
    [InlineData(4, 0x102d, null)]
    [InlineData(4, 0x2001, "a.c:1")]
    [InlineData(4, 0x2002, null)]
    [InlineData(5, 0x1000, "/src/a.c:10")]
    [InlineData(5, 0x1007, "/src/a.c:11")]
    [InlineData(5, 0x1008, "/src/inc/b.h:3")]
    [InlineData(5, 0x102c, "/src/inc/b.h:3")]
    [InlineData(5, 0x102d, null)]
    // DWARF 5 with gas: the file register starts at 0 (see LineProgram.Run).
    [InlineData(5, 0x2000, "/src/a.c:1")]
    public void Lookup_finds_the_last_row_at_or_below_the_address(int version, ulong address, string? expected)
    {
        var table = new LineTable("test", version == 4 ? V4() : V5(), LineStr, default);
        Assert.Equal(2, table.SequenceCount);
        Assert.Equal(expected, table.Lookup(address)?.ToString());
    }

    [Fact]
    public void Discriminator_and_column_come_with_the_row()
    {
        var line = new LineTable("test", V5(), LineStr, default).Lookup(0x1029)!;
        Assert.Equal(7u, line.Discriminator);
        Assert.Equal(4u, line.Column);
    }

    [Fact]
    public void Two_units_in_one_section_are_both_indexed()
    {
        var both = V4().Concat(UnitBuilder.Unit(4, t => t.U8(0).Str("z.c").Uleb(0).Uleb(0).Uleb(0).U8(0),
            p => p.SetAddress(0x5000).AdvanceLine(41).Copy().AdvancePc(8).EndSequence())).ToArray();
        var table = new LineTable("test", both, default, default);
        Assert.Equal(3, table.SequenceCount);
        Assert.Equal("z.c:42", table.Lookup(0x5007)?.ToString());
        Assert.Equal("a.c:11", table.Lookup(0x1004)?.ToString());
    }

    [Fact]
    public void Nested_and_overlapping_sequences_are_trimmed_like_addr2line()
    {
        var unit = UnitBuilder.Unit(4, t => t.U8(0).Str("a.c").Uleb(0).Uleb(0).Uleb(0).Str("b.c").Uleb(0).Uleb(0).Uleb(0).U8(0),
            p => p.SetAddress(0x100).Copy().AdvancePc(0x100).EndSequence()               // a.c:1 [0x100,0x200)
                  .SetAddress(0x140).SetFile(2).AdvanceLine(1).Copy().AdvancePc(0x10).EndSequence()  // nested: dropped
                  .SetAddress(0x1f0).SetFile(2).AdvanceLine(2).Copy().AdvancePc(0x20).EndSequence()); // overlapping: from 0x200
        var table = new LineTable("test", unit, default, default);
        Assert.Equal(2, table.SequenceCount);
        Assert.Equal("a.c:1", table.Lookup(0x145)?.ToString());
        Assert.Equal("b.c:3", table.Lookup(0x205)?.ToString());
    }

    // ---- bounds ----

    private static void Rejects(byte[] section, string problem, byte[]? lineStr = null)
    {
        var e = Assert.Throws<DumpFormatException>(() => new LineTable("bad.debug", section, lineStr ?? LineStr, default).Lookup(0x1000));
        Assert.Contains(".debug", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unit_length_past_the_section_is_rejected() =>
        Rejects([.. V4()[..^3]], "runs past the end of the section");

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void Unknown_versions_are_rejected(int version)
    {
        var unit = V4();
        unit[4] = (byte)version;
        Rejects(unit, $"version {version}");
    }

    [Fact]
    public void Line_range_0_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).U8(0), p => p.Special(1, 1), lineRange: 0), "line_range is 0");

    [Fact]
    public void Opcode_base_0_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).U8(0), p => p.Copy(), opcodeBase: 0), "opcode_base is 0");

    [Fact]
    public void Huge_v5_entry_counts_are_rejected_before_allocating() =>
        Rejects(UnitBuilder.Unit(5, t => t.U8(1).Uleb(1).Uleb(0x08).Uleb(0xffffffff), p => p.Copy()), "entries do not fit");

    [Fact]
    public void Entries_without_a_format_are_rejected() =>
        Rejects(UnitBuilder.Unit(5, t => t.U8(0).Uleb(3), p => p.Copy()), "no entry format");

    [Fact]
    public void Unknown_entry_forms_are_rejected() =>
        Rejects(UnitBuilder.Unit(5, t => t.U8(1).Uleb(1).Uleb(0x01).Uleb(1).U64(0), p => p.Copy()), "form 0x1");

    [Fact]
    public void Extended_opcode_longer_than_the_unit_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).U8(0), p => p.U8(0).Uleb(1000).U8(2)), "extended opcode length 1000");

    [Fact]
    public void Set_address_with_an_odd_operand_size_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).U8(0), p => p.U8(0).Uleb(4).U8(2).U8(1).U8(2).U8(3)), "3-byte operand");

    [Fact]
    public void Overlong_leb128_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).U8(0), p => p.U8(2).Bytes([.. Enumerable.Repeat((byte)0x80, 11), 0])), "LEB128 longer than 10 bytes");

    [Fact]
    public void A_header_string_outside_debug_line_str_is_rejected()
    {
        var unit = UnitBuilder.Unit(5,
            t => t.U8(1).Uleb(1).Uleb(0x1f).Uleb(1).U32(0x999).U8(2).Uleb(1).Uleb(0x08).Uleb(2).Uleb(0x0f).Uleb(1).Str("a.c").Uleb(0),
            p => p.SetAddress(0x1000).Copy().AdvancePc(1).EndSequence());
        Rejects(unit, "outside .debug_line_str");
    }

    [Fact]
    public void A_v4_file_table_without_its_terminator_is_rejected() =>
        Rejects(UnitBuilder.Unit(4, t => t.U8(0).Str("a.c").Uleb(0).Uleb(0).Uleb(0), p => { }), "runs past");

    [Fact]
    public void Every_truncation_and_mutation_is_a_format_error_or_a_result()
    {
        var valid = V5();
        for (var n = 0; n < valid.Length; n++)
            Survives(valid[..n]);
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length - 1], Gen.Byte).Sample((i, b, j, c) =>
        {
            var copy = (byte[])valid.Clone();
            copy[i] = b;
            copy[j] = c;
            Survives(copy);
        }, iter: 5000);
    }

    private static void Survives(byte[] section)
    {
        try
        {
            var table = new LineTable("fuzz", section, LineStr, default);
            for (ulong a = 0xff8; a < 0x1030; a += 3)
                _ = table.Lookup(a);
        }
        catch (DumpFormatException)
        {
        }
    }
}
