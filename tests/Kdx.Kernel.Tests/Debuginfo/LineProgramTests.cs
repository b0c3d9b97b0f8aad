// The line-number state machine on hand-built DWARF 4 and DWARF 5 programs (every standard opcode,
// special opcodes, extended opcodes, two sequences), and bounds tests: malformed headers and
// programs give DumpFormatException naming .debug_line and the offset, never another exception.
using System.Text;
using CsCheck;
using Kdx.Dump;
using Kdx.Kernel.Debuginfo;

namespace Kdx.Kernel.Tests.Debuginfo;

public sealed class LineProgramTests
{
    /// <summary>Builds one .debug_line unit: header fields, tables and program written by callbacks; lengths filled in.</summary>
    internal sealed class UnitBuilder
    {
        private readonly MemoryStream _s = new();

        public UnitBuilder U8(int v) { _s.WriteByte((byte)v); return this; }
        public UnitBuilder U16(int v) { U8(v & 0xff); return U8(v >> 8); }
        public UnitBuilder U32(uint v) { U16((int)(v & 0xffff)); return U16((int)(v >> 16)); }
        public UnitBuilder U64(ulong v) { U32((uint)v); return U32((uint)(v >> 32)); }
        public UnitBuilder Str(string s) { _s.Write(Encoding.ASCII.GetBytes(s)); return U8(0); }
        public UnitBuilder Bytes(params byte[] b) { _s.Write(b); return this; }

        public UnitBuilder Uleb(ulong v)
        {
            do
            {
                var b = (byte)(v & 0x7f);
                v >>= 7;
                U8(v != 0 ? b | 0x80 : b);
            }
            while (v != 0);
            return this;
        }

        public UnitBuilder Sleb(long v)
        {
            while (true)
            {
                var b = (byte)(v & 0x7f);
                v >>= 7;
                if ((v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0))
                    return U8(b);
                U8(b | 0x80);
            }
        }

        public long Position => _s.Position;

        public byte[] ToArray() => _s.ToArray();

        /// <summary>A unit: length, version, [v5 address/selector sizes], header_length, header, tables, program.</summary>
        public static byte[] Unit(int version, Action<UnitBuilder> tables, Action<UnitBuilder> program, byte lineRange = 14, byte opcodeBase = 13, sbyte lineBase = -5)
        {
            var head = new UnitBuilder();
            head.U8(1).U8(1).U8(1).U8((byte)lineBase).U8(lineRange).U8(opcodeBase); // min_inst, max_ops, default_is_stmt, line_base, line_range, opcode_base
            byte[] lengths = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
            for (var i = 0; i < opcodeBase - 1; i++)
                head.U8(i < lengths.Length ? lengths[i] : 1);
            tables(head);
            var prog = new UnitBuilder();
            program(prog);
            var afterLength = new UnitBuilder().U16(version);
            if (version >= 5)
                afterLength.U8(8).U8(0);
            var h = head.ToArray();
            afterLength.U32((uint)h.Length).Bytes(h).Bytes(prog.ToArray());
            var body = afterLength.ToArray();
            return new UnitBuilder().U32((uint)body.Length).Bytes(body).ToArray();
        }

        // Opcodes.
        public UnitBuilder SetAddress(ulong a) => U8(0).Uleb(9).U8(2).U64(a);
        public UnitBuilder EndSequence() => U8(0).Uleb(1).U8(1);
        public UnitBuilder Discriminator(ulong d) => U8(0).Uleb(1 + (ulong)UlebLength(d)).U8(4).Uleb(d);
        public UnitBuilder Copy() => U8(1);
        public UnitBuilder AdvancePc(ulong n) => U8(2).Uleb(n);
        public UnitBuilder AdvanceLine(long n) => U8(3).Sleb(n);
        public UnitBuilder SetFile(ulong f) => U8(4).Uleb(f);
        public UnitBuilder Column(ulong c) => U8(5).Uleb(c);
        public UnitBuilder NegateStmt() => U8(6);
        public UnitBuilder ConstAddPc() => U8(8);
        public UnitBuilder FixedAdvancePc(int n) => U8(9).U16(n);

        /// <summary>Special opcode for (address advance, line advance) with line_base -5, line_range 14, opcode_base 13.</summary>
        public UnitBuilder Special(int addr, int line) => U8((line + 5) + 14 * addr + 13);

        private static int UlebLength(ulong v)
        {
            var n = 1;
            while ((v >>= 7) != 0)
                n++;
            return n;
        }
    }

    /// <summary>The same program for both versions; file 1 (v4) / 0 (v5) is a.c, the next one b.h in directory "inc".</summary>
    private static void Program(UnitBuilder p, ulong headerFile)
    {
        p.SetAddress(0x1000).AdvanceLine(9).Copy()                 // 0x1000 a.c:10
         .Special(3, 1)                                            // 0x1003 a.c:11
         .SetFile(headerFile).AdvancePc(5).AdvanceLine(-8).Column(4).NegateStmt().Copy() // 0x1008 b.h:3, not a statement
         .ConstAddPc().FixedAdvancePc(0x10).Discriminator(7).Copy() // 0x1029 b.h:3 discriminator 7
         .AdvancePc(4).EndSequence()                               // end at 0x102d
         .SetAddress(0x2000).Copy().AdvancePc(2).EndSequence();    // 0x2000 first file, line 1; end 0x2002
    }

    private static byte[] V4() => UnitBuilder.Unit(4,
        t => t.Str("inc").U8(0)                                     // include_directories: 1 = inc
              .Str("a.c").Uleb(0).Uleb(0).Uleb(0)                   // file 1: a.c in the compilation directory
              .Str("b.h").Uleb(1).Uleb(0).Uleb(0).U8(0),            // file 2: inc/b.h
        p => Program(p, 2));

    private static readonly byte[] LineStr = Encoding.ASCII.GetBytes("/src\0inc\0");

    private static byte[] V5() => UnitBuilder.Unit(5,
        t => t.U8(1).Uleb(1).Uleb(0x1f)                             // directory format: path as line_strp
              .Uleb(2).U32(0).U32(5)                                // 0 = /src, 1 = inc
              .U8(3).Uleb(1).Uleb(0x08).Uleb(2).Uleb(0x0f).Uleb(5).Uleb(0x1e) // file format: path string, dir udata, MD5 data16
              .Uleb(2)
              .Str("a.c").Uleb(0).Bytes(new byte[16])
              .Str("b.h").Uleb(1).Bytes(new byte[16]),
        p => Program(p, 1));

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
