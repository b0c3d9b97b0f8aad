// Builds .debug_line units byte by byte (header, tables, opcodes) for the line-table tests and
// the fuzz seeds, plus one sample program in DWARF 4 and DWARF 5 form.
using System.Text;

namespace Kdx.Kernel.Tests.Debuginfo;

/// <summary>Builds one .debug_line unit: header fields, tables and program written by callbacks; lengths filled in.</summary>
public sealed class UnitBuilder
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

public static class LineUnitSamples
{
    /// <summary>The same program for both versions; file 1 (v4) / 0 (v5) is a.c, the next one b.h in directory "inc".</summary>
    public static void Program(UnitBuilder p, ulong headerFile)
    {
        p.SetAddress(0x1000).AdvanceLine(9).Copy()                 // 0x1000 a.c:10
         .Special(3, 1)                                            // 0x1003 a.c:11
         .SetFile(headerFile).AdvancePc(5).AdvanceLine(-8).Column(4).NegateStmt().Copy() // 0x1008 b.h:3, not a statement
         .ConstAddPc().FixedAdvancePc(0x10).Discriminator(7).Copy() // 0x1029 b.h:3 discriminator 7
         .AdvancePc(4).EndSequence()                               // end at 0x102d
         .SetAddress(0x2000).Copy().AdvancePc(2).EndSequence();    // 0x2000 first file, line 1; end 0x2002
    }

    public static byte[] V4() => UnitBuilder.Unit(4,
        t => t.Str("inc").U8(0)                                     // include_directories: 1 = inc
              .Str("a.c").Uleb(0).Uleb(0).Uleb(0)                   // file 1: a.c in the compilation directory
              .Str("b.h").Uleb(1).Uleb(0).Uleb(0).U8(0),            // file 2: inc/b.h
        p => Program(p, 2));

    public static readonly byte[] LineStr = Encoding.ASCII.GetBytes("/src\0inc\0");

    public static byte[] V5() => UnitBuilder.Unit(5,
        t => t.U8(1).Uleb(1).Uleb(0x1f)                             // directory format: path as line_strp
              .Uleb(2).U32(0).U32(5)                                // 0 = /src, 1 = inc
              .U8(3).Uleb(1).Uleb(0x08).Uleb(2).Uleb(0x0f).Uleb(5).Uleb(0x1e) // file format: path string, dir udata, MD5 data16
              .Uleb(2)
              .Str("a.c").Uleb(0).Bytes(new byte[16])
              .Str("b.h").Uleb(1).Bytes(new byte[16]),
        p => Program(p, 1));
}
