// One ORC entry (struct orc_entry, 6 bytes, packed) and how to decode it. The bitfield word's
// layout and the meaning of `type` changed across kernels (6.4 dropped `end`, widened `type` to
// 3 bits and renumbered it; 6.3 added `signal`), so the layout is read from the dumped kernel's
// BTF when it has struct orc_entry, and falls back to the 6.1 layout otherwise.
using System.Buffers.Binary;
using Kdx.Kernel.Btf;

namespace Kdx.Kernel.Unwind;

/// <summary>ORC_REG_* values (stable since 4.14).</summary>
public enum OrcReg : byte
{
    Undefined = 0,
    PrevSp = 1,
    Dx = 2,
    Di = 3,
    Bp = 4,
    Sp = 5,
    R10 = 6,
    R13 = 7,
    BpIndirect = 8,
    SpIndirect = 9,
}

/// <summary>What an entry says the frame is, normalised over the two numberings.</summary>
public enum OrcFrameType
{
    /// <summary>No unwind info here (6.4+ ORC_TYPE_UNDEFINED; older kernels: sp_reg undefined without end).</summary>
    Undefined,
    /// <summary>Bottom of a kernel stack (6.4+ ORC_TYPE_END_OF_STACK; older kernels: the end bit).</summary>
    EndOfStack,
    /// <summary>A normal call frame: the return address sits just below the CFA.</summary>
    Call,
    /// <summary>The CFA is a full struct pt_regs.</summary>
    Regs,
    /// <summary>The CFA is the iret part of a pt_regs (ip, cs, flags, sp, ss).</summary>
    RegsPartial,
}

public readonly record struct OrcEntry(short SpOffset, short BpOffset, OrcReg SpReg, OrcReg BpReg, OrcFrameType Type, bool Signal)
{
    public override string ToString() =>
        $"sp:{SpReg}{SpOffset:+#;-#;+0} bp:{BpReg}{BpOffset:+#;-#;+0} type:{Type}{(Signal ? " signal" : "")}";
}

/// <summary>Where the fields of struct orc_entry live, and which `type` numbering applies.</summary>
public sealed class OrcEntryLayout
{
    public const int EntrySize = 6;

    private OrcEntryLayout(string source, (int Bit, int Width) spReg, (int Bit, int Width) bpReg, (int Bit, int Width) type,
        (int Bit, int Width)? signal, (int Bit, int Width)? end)
    {
        Source = source;
        _spReg = spReg;
        _bpReg = bpReg;
        _type = type;
        _signal = signal;
        _end = end;
    }

    private readonly (int Bit, int Width) _spReg, _bpReg, _type;
    private readonly (int Bit, int Width)? _signal, _end;

    /// <summary>"BTF struct orc_entry (...)" or "built-in 6.1 layout (...)": said in bt output.</summary>
    public string Source { get; }

    /// <summary>True when `type` uses the 6.4+ numbering (UNDEFINED, END_OF_STACK, CALL, REGS, REGS_PARTIAL).</summary>
    public bool NewTypeNumbering => _end is null;

    /// <summary>The 6.1 layout: sp_reg:4, bp_reg:4, type:2, end:1 in the u16 after the two s16 offsets.</summary>
    public static OrcEntryLayout Linux61 { get; } = new("built-in 6.1 layout (sp_reg:4 bp_reg:4 type:2 end:1)", (32, 4), (36, 4), (40, 2), null, (42, 1));

    /// <summary>The layout from BTF struct orc_entry, or <see cref="Linux61"/> when BTF lacks it (or has something unexpected).</summary>
    public static OrcEntryLayout From(BtfTypes? btf)
    {
        if (btf?.Find("orc_entry", BtfKind.Struct) is not { Size: EntrySize } s)
            return Linux61;
        (int, int)? Field(string name)
        {
            foreach (var m in s.Members)
                if (m.Name == name)
                    return ((int)m.BitOffset, (int)(m.BitfieldSize != 0 ? m.BitfieldSize : (btf.SizeOf(m.Type) ?? 0) * 8));
            return null;
        }
        if (Field("sp_offset") is not (0, 16) || Field("bp_offset") is not (16, 16)
            || Field("sp_reg") is not { } sp || Field("bp_reg") is not { } bp || Field("type") is not { } type)
            return Linux61;
        var end = Field("end");
        if (sp.Item2 != 4 || bp.Item2 != 4 || type.Item2 is < 2 or > 3 || !InWord(sp) || !InWord(bp) || !InWord(type)
            || (end is { } e0 && (e0.Item2 != 1 || !InWord(e0))) || (Field("signal") is { } s0 && (s0.Item2 != 1 || !InWord(s0))))
            return Linux61; // not the bitfield word we know how to read (old-style int-encoded bitfields, or a new shape)
        var signal = Field("signal");
        var parts = $"sp_reg:{sp.Item2} bp_reg:{bp.Item2} type:{type.Item2}{(signal is { } g ? $" signal:{g.Item2}" : "")}{(end is { } e ? $" end:{e.Item2}" : "")}";
        return new OrcEntryLayout($"BTF struct orc_entry ({parts})", sp, bp, type, signal, end);
    }

    private static bool InWord((int Bit, int Width) f) => f.Bit >= 32 && f.Bit + f.Width <= 48;

    public OrcEntry Decode(ReadOnlySpan<byte> raw)
    {
        var spOffset = BinaryPrimitives.ReadInt16LittleEndian(raw);
        var bpOffset = BinaryPrimitives.ReadInt16LittleEndian(raw[2..]);
        var bits = BinaryPrimitives.ReadUInt16LittleEndian(raw[4..]);
        uint Get((int Bit, int Width) f) => (uint)(bits >> (f.Bit - 32)) & ((1u << f.Width) - 1);
        var spReg = (OrcReg)Get(_spReg);
        var bpReg = (OrcReg)Get(_bpReg);
        var rawType = Get(_type);
        OrcFrameType type;
        bool signal;
        if (_end is { } endField)
        {
            // <= 6.3: CALL 0, REGS 1, REGS_PARTIAL 2; "undefined sp_reg" is either the end of a stack (end=1) or no info.
            var end = Get(endField) != 0;
            type = spReg == OrcReg.Undefined
                ? (end ? OrcFrameType.EndOfStack : OrcFrameType.Undefined)
                : rawType switch { 0 => OrcFrameType.Call, 1 => OrcFrameType.Regs, 2 => OrcFrameType.RegsPartial, _ => OrcFrameType.Undefined };
            signal = _signal is { } sf ? Get(sf) != 0 : type is OrcFrameType.Regs or OrcFrameType.RegsPartial;
        }
        else
        {
            type = rawType switch
            {
                0 => OrcFrameType.Undefined,
                1 => OrcFrameType.EndOfStack,
                2 => OrcFrameType.Call,
                3 => OrcFrameType.Regs,
                4 => OrcFrameType.RegsPartial,
                _ => OrcFrameType.Undefined,
            };
            signal = _signal is { } sf ? Get(sf) != 0 : type is OrcFrameType.Regs or OrcFrameType.RegsPartial;
        }
        return new OrcEntry(spOffset, bpOffset, spReg, bpReg, type, signal);
    }
}
