// BTF blobs built type by type: every kind decodes, member paths descend the way C does, split
// BTF continues the base, and malformed blobs are refused with DumpFormatException.
using System.Buffers.Binary;
using Kdx.Dump;
using Kdx.Kernel.Btf;
using Kdx.Kernel.Tests.Support;

namespace Kdx.Kernel.Tests.Btf;

public class BtfSyntheticTests
{
    /// <summary>A small kernel-like type graph with every kind in it.</summary>
    internal static (byte[] Blob, Dictionary<string, int> Ids) Sample()
    {
        var b = new BtfBuilder();
        var ids = new Dictionary<string, int>();
        var u32 = ids["u32"] = b.Int("unsigned int", 4, 32);
        var s32 = ids["int"] = b.Int("int", 4, 32, BtfIntEncoding.Signed);
        var u64 = ids["u64raw"] = b.Int("long long unsigned int", 8, 64);
        var chr = ids["char"] = b.Int("char", 1, 8, BtfIntEncoding.Char | BtfIntEncoding.Signed);
        var u64t = ids["u64"] = b.Typedef("u64", u64);
        var idx = ids["index"] = b.Int("__ARRAY_SIZE_TYPE__", 4, 32);
        var fwd = ids["fwd"] = b.Fwd("list_head");
        var lhPtr = ids["list_head*"] = b.Ptr(fwd);
        var listHead = ids["list_head"] = b.Struct("list_head", 16, ("next", lhPtr, 0, 0), ("prev", lhPtr, 64, 0));
        var comm = ids["char[16]"] = b.Array(chr, idx, 16);
        var vol = ids["volatile u64"] = b.Volatile(u64t);
        var cst = ids["const"] = b.Const(vol);
        var se = ids["sched_entity"] = b.Struct("sched_entity", 24, ("load", u64t, 0, 0), ("sum_exec_runtime", cst, 64, 0), ("vruntime", u64t, 128, 0));
        // anonymous struct { u32 a; u32 b; } inside an anonymous union
        var anonStruct = ids["anon struct"] = b.Struct("", 8, ("a", u32, 0, 0), ("b", u32, 32, 0));
        var anonUnion = ids["anon union"] = b.Union("", 8, ("", anonStruct, 0, 0), ("whole", u64t, 0, 0));
        var bits = ids["bits"] = b.Struct("flags_holder", 4, ("lo", u32, 0, 3), ("mid", u32, 3, 5), ("hi", u32, 8, 24));
        var oldBitInt = ids["old bit int"] = b.Int("unsigned int", 4, 5, BtfIntEncoding.None, 3); // old-style: width and shift in the INT
        var oldBits = ids["old bits"] = b.Struct("old_bits", 4, ("x", oldBitInt, 0, 0));
        var seArray = ids["se[4]"] = b.Array(se, idx, 4);
        var flex = ids["u32[]"] = b.Array(u32, idx, 0);
        var task = ids["task_struct"] = b.Struct("task_struct", 200,
            ("pid", s32, 0, 0), ("comm", comm, 32, 0), ("tasks", listHead, 160, 0), ("se", se, 288, 0),
            ("", anonUnion, 480, 0), ("f", bits, 544, 0), ("ses", seArray, 576, 0), ("tail", flex, 1344, 0));
        ids["task_t"] = b.Typedef("task_t", task);
        var en = ids["enum"] = b.Enum("state", 4, true, ("RUNNING", 0), ("DEAD", -1));
        var en64 = ids["enum64"] = b.Enum64("big", 8, ("HIGH", 0x8000_0000_0000_0001UL));
        var proto = ids["proto"] = b.FuncProto(s32, ("t", b.Ptr(task)), ("", 0));
        ids["func"] = b.Func("do_exit", proto, BtfLinkage.Global);
        var v = ids["var"] = b.Var("jiffies", u64t, BtfLinkage.Global);
        ids["datasec"] = b.DataSec(".data..percpu", 64, (v, 8, 8));
        ids["float"] = b.Float("double", 8);
        ids["decl_tag"] = b.DeclTag("bpf_kfunc", ids["func"], -1);
        ids["type_tag"] = b.TypeTag("user", u32);
        ids["restrict"] = b.Restrict(lhPtr);
        _ = en; _ = en64; _ = oldBits;
        return (b.Build(), ids);
    }

    [Fact]
    public void EveryKindDecodes()
    {
        var (blob, ids) = Sample();
        var btf = BtfTypes.Parse(blob, "sample");
        Assert.Equal(1, btf.FirstId);
        Assert.Equal(ids.Values.Max() + 1, btf.EndId);
        Assert.Equal(BtfIntEncoding.Char | BtfIntEncoding.Signed, btf[ids["char"]].IntEncoding);
        Assert.Equal(new BtfArray(ids["char"], ids["index"], 16), btf[ids["char[16]"]].Array);
        var en = btf[ids["enum"]];
        Assert.True(en.KindFlag);
        Assert.Equal([new BtfEnumerator("RUNNING", 0), new BtfEnumerator("DEAD", -1)], en.Enumerators);
        Assert.Equal(unchecked((long)0x8000_0000_0000_0001UL), btf[ids["enum64"]].Enumerators[0].Value);
        var proto = btf[ids["proto"]];
        Assert.Equal(ids["int"], proto.Type);
        Assert.Equal(2, proto.Parameters.Count);
        Assert.Equal("t", proto.Parameters[0].Name);
        Assert.Equal(BtfLinkage.Global, btf[ids["func"]].Linkage);
        Assert.Equal(ids["proto"], btf[ids["func"]].Type);
        Assert.Equal(BtfLinkage.Global, btf[ids["var"]].Linkage);
        Assert.Equal(new BtfSectionVar(ids["var"], 8, 8), btf[ids["datasec"]].SectionVars[0]);
        Assert.Equal(8u, btf[ids["float"]].Size);
        Assert.Equal(-1, btf[ids["decl_tag"]].ComponentIndex);
        Assert.Equal("user", btf[ids["type_tag"]].Name);
        Assert.Equal(BtfKind.Restrict, btf[ids["restrict"]].Kind);
        Assert.Equal(BtfKind.Void, btf[0].Kind);
    }

    [Fact]
    public void MemberPathsDescendLikeC()
    {
        var (blob, ids) = Sample();
        var btf = BtfTypes.Parse(blob, "sample");
        Assert.Equal(0UL, btf.Field("task_struct.pid").BitOffset);
        Assert.Equal(4UL, btf.OffsetOf("task_struct", "comm"));
        Assert.Equal(7UL, btf.Field("task_struct.comm[3]").ByteOffset);
        Assert.Equal(28UL, btf.OffsetOf("task_struct", "tasks.prev"));
        // through a const volatile typedef'd member
        var ser = btf.Field("task_struct.se.sum_exec_runtime");
        Assert.Equal(36UL + 8, ser.ByteOffset);
        Assert.Equal(ids["const"], ser.Type);
        Assert.Equal(8UL, btf.SizeOf(ser.Type));
        // anonymous union → anonymous struct → b
        Assert.Equal(60UL + 4, btf.OffsetOf("task_struct", "b"));
        Assert.Equal(60UL, btf.OffsetOf("task_struct", "whole"));
        // arrays of structs
        Assert.Equal(72UL + 2 * 24 + 8, btf.OffsetOf("task_struct", "ses[2].sum_exec_runtime"));
        Assert.Null(btf.OffsetOf("task_struct", "ses[4]"));
        // a flexible array takes any index
        Assert.Equal(168UL + 4 * 10, btf.OffsetOf("task_struct", "tail[10]"));
        // via a typedef root
        Assert.Equal(btf.Field("task_struct.se").BitOffset, btf.Field("task_t.se").BitOffset);
        Assert.Equal(200UL, btf.SizeOf("task_t"));
        Assert.Equal(96UL, btf.SizeOf(ids["se[4]"]));
        Assert.Null(btf.SizeOf(ids["func"]));
        Assert.Equal(8UL, btf.SizeOf(ids["list_head*"]));
    }

    [Fact]
    public void BitfieldsReportBits()
    {
        var (blob, _) = Sample();
        var btf = BtfTypes.Parse(blob, "sample");
        var mid = btf.Field("task_struct.f.mid");
        Assert.True(mid.IsBitfield);
        Assert.Equal(544UL + 3, mid.BitOffset);
        Assert.Equal(5u, mid.BitfieldSize);
        var hi = btf.Field("flags_holder.hi");
        Assert.Equal((8UL, 24u), (hi.BitOffset, hi.BitfieldSize));
        var old = btf.Field("old_bits.x"); // pre-kind_flag encoding: width and shift from the INT
        Assert.Equal((3UL, 5u), (old.BitOffset, old.BitfieldSize));
        Assert.False(btf.TryField("task_struct.f.mid.x", out _, out var problem));
        Assert.Contains("bitfield", problem);
    }

    [Fact]
    public void LookupsPreferDefinitionsAndKinds()
    {
        var (blob, ids) = Sample();
        var btf = BtfTypes.Parse(blob, "sample");
        Assert.Equal(ids["list_head"], btf.Find("list_head", BtfKind.Struct)!.Id);
        Assert.Equal(ids["fwd"], btf.Find("list_head", BtfKind.Fwd)!.Id);
        Assert.Equal(2, btf.FindAll("list_head").Count);
        Assert.Equal(ids["list_head"], btf.FindDataType("list_head")!.Id);
        Assert.Equal(2, btf.FindAll("unsigned int").Count);
        Assert.Throws<KeyNotFoundException>(() => btf.Field("task_struct.nope"));
    }

    [Fact]
    public void SplitBtfContinuesIdsAndStrings()
    {
        var (blob, ids) = Sample();
        var vmlinux = BtfTypes.Parse(blob, "vmlinux");
        var baseStrings = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(20));
        var m = new BtfBuilder(vmlinux, baseStrings);
        var lh = ids["list_head"];
        var mod = m.Struct("my_module_state", 24, ("list", lh, 0, 0), ("count", ids["u64"], 128, 0));
        var named = m.Typedef("task_struct_alias", ids["task_struct"]);
        var split = BtfTypes.Parse(m.Build(), "mod.ko", vmlinux);
        Assert.Equal(vmlinux.EndId, split.FirstId);
        Assert.Equal(vmlinux.EndId, mod);
        Assert.Equal("my_module_state", split[mod].Name);
        Assert.Equal(16UL, split.OffsetOf("my_module_state", "count"));
        Assert.Equal(8UL, split.OffsetOf("my_module_state", "list.prev"));
        Assert.Equal(vmlinux.OffsetOf("task_struct", "se"), split.OffsetOf("task_struct_alias", "se"));
        Assert.Same(vmlinux[lh], split[lh]);
        Assert.Equal(named + 1, split.EndId);
    }

    public static TheoryData<string, Func<byte[], byte[]>> Hostile => new()
    {
        { "empty", _ => [] },
        { "bad magic", b => Patch(b, 0, 0x12, 0x34) },
        { "version 2", b => Patch(b, 2, 2) },
        { "header length past end", b => U32(b, 4, 1_000_000) },
        { "header length below 24", b => U32(b, 4, 8) },
        { "type section past end", b => U32(b, 12, 0x7fff_fff0) },
        { "string section past end", b => U32(b, 20, 0xffff_ff00) },
        { "section offset overflow", b => U32(U32(b, 16, 0xffff_fffc), 20, 8) },
        { "type offset unaligned", b => U32(b, 8, 1) },
        { "truncated", b => b[..(b.Length / 2)] },
        { "unknown kind", b => U32(b, 24 + 4, 31u << 24) },
        { "kind zero", b => U32(b, 24 + 4, 0) },
        { "name offset outside strings", b => U32(b, 24, 0x00ff_ffff) },
        { "type reference past the end", b => U32(b, 24 + 16 * 4 + 8, 99_999) }, // a later PTR/TYPEDEF record's target
        { "huge vlen", b => U32(b, 24 + 4, (4u << 24) | 0xffff) },
        { "strings not NUL-terminated", b => Patch(b, b.Length - 1, (byte)'x') },
    };

    private static readonly Dictionary<string, string> ExpectedProblem = new()
    {
        ["empty"] = "shorter than its header",
        ["bad magic"] = "bad BTF magic",
        ["version 2"] = "unsupported BTF version 2",
        ["header length past end"] = "header length",
        ["header length below 24"] = "header length 8",
        ["type section past end"] = "type section",
        ["string section past end"] = "string section",
        ["section offset overflow"] = "string section 4294967292+8",
        ["type offset unaligned"] = "not 4-byte aligned",
        ["truncated"] = "runs past the blob end",
        ["unknown kind"] = "unknown kind 31",
        ["kind zero"] = "unknown kind 0",
        ["name offset outside strings"] = "name offset 16777215",
        ["type reference past the end"] = "missing type id 99999",
        ["huge vlen"] = "member list",
        ["strings not NUL-terminated"] = "does not end with NUL",
    };

    private static byte[] Patch(byte[] b, int at, params byte[] bytes)
    {
        var c = (byte[])b.Clone();
        bytes.CopyTo(c, at);
        return c;
    }

    private static byte[] U32(byte[] b, int at, uint v)
    {
        var c = (byte[])b.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(at), v);
        return c;
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileBlobsAreFormatErrors(string what, Func<byte[], byte[]> corrupt)
    {
        var (blob, _) = Sample();
        var bad = corrupt(blob);
        var e = Assert.Throws<DumpFormatException>(() => BtfTypes.Parse(bad, "hostile"));
        Assert.Equal("hostile", e.File);
        Assert.False(string.IsNullOrEmpty(e.Problem), what);
        Assert.Contains(ExpectedProblem[what], e.Problem);
    }

    [Fact]
    public void TypedefCyclesEndInFormatErrors()
    {
        var b = new BtfBuilder();
        var a = b.Typedef("a", 2);  // id 1 → 2
        b.Typedef("b", a);          // id 2 → 1
        var s = b.Struct("s", 8, ("x", a, 0, 0));
        var arr = b.Array(4, 1, 2); // id 4: an array of itself
        var btf = BtfTypes.Parse(b.Build(), "cycle");
        Assert.Throws<DumpFormatException>(() => btf.Resolve(a));
        Assert.Throws<DumpFormatException>(() => btf.SizeOf(a));
        Assert.Throws<DumpFormatException>(() => btf.SizeOf(arr));
        Assert.Throws<DumpFormatException>(() => btf.TryField("s.x.y", out _, out _));
        _ = s;
    }

    [Fact]
    public void AnonymousMemberCyclesEndInFormatErrors()
    {
        var b = new BtfBuilder();
        b.Struct("loop", 8, ("", 1, 0, 0)); // id 1 holds itself anonymously
        var btf = BtfTypes.Parse(b.Build(), "cycle");
        Assert.Throws<DumpFormatException>(() => btf.TryField("loop.x", out _, out _));
    }

    [Fact]
    public void BigEndianBlobsDecodeToo()
    {
        var (blob, ids) = Sample();
        var be = ToBigEndian(blob);
        var btf = BtfTypes.Parse(be, "be");
        Assert.Equal(36UL + 8, btf.OffsetOf("task_struct", "se.sum_exec_runtime"));
        Assert.Equal(ids.Values.Max() + 1, btf.EndId);
    }

    /// <summary>Byte-swaps every 32-bit word of the header and type section (BTF records are all u32 words; magic is u16).</summary>
    private static byte[] ToBigEndian(byte[] le)
    {
        var be = (byte[])le.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(be, BtfTypes.Magic);
        var typeLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(le.AsSpan(12));
        for (var at = 4; at < 24 + typeLen; at += 4)
            BinaryPrimitives.WriteUInt32BigEndian(be.AsSpan(at), BinaryPrimitives.ReadUInt32LittleEndian(le.AsSpan(at)));
        return be;
    }
}
