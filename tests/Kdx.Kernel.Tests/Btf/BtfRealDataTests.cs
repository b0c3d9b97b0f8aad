// BTF parsed from real kernels, checked against bpftool: the running host's /sys/kernel/btf/vmlinux,
// the Debian 6.1 vmlinux's .BTF section, its modules' split BTF, and the same BTF read out of the
// image's memory between __start_BTF and __stop_BTF.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Images;
using Kdx.Kernel.Symbols;
using Kdx.Kernel.Tests.Support;
using Xunit.Abstractions;

namespace Kdx.Kernel.Tests.Btf;

public class BtfRealDataTests(ITestOutputHelper output)
{
    private static readonly Lazy<BpftoolDump> HostDump = new(() => BpftoolDump.Load(Oracles.HostBtf));
    private static readonly Lazy<BtfTypes> Host = new(() => BtfTypes.Parse(File.ReadAllBytes(Oracles.HostBtf), Oracles.HostBtf));


    [Fact]
    public void HostVmlinuxBtfMatchesBpftoolRawDumpEverywhere()
    {
        var blob = File.ReadAllBytes(Oracles.HostBtf);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var parsed = BtfTypes.Parse(blob, Oracles.HostBtf);
        parsed.Field("task_struct.se.sum_exec_runtime");
        output.WriteLine($"parsed {blob.Length} bytes, {parsed.EndId} types, first lookup done in {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        BtfTypes.Parse(blob, Oracles.HostBtf);
        output.WriteLine($"parse again: {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        parsed.Field("task_struct.se.sum_exec_runtime");
        parsed.Field("page.lru");
        output.WriteLine($"two lookups: {clock.ElapsedMilliseconds} ms");
        var diffs = BtfOracleComparison.Differences(Host.Value, HostDump.Value, 1);
        Assert.True(diffs.Count == 0, string.Join('\n', diffs));
        Assert.True(Host.Value.EndId > 10000, "a vmlinux BTF has tens of thousands of types");
    }

    [Theory]
    [InlineData("task_struct", "pid")]
    [InlineData("task_struct", "comm")]
    [InlineData("task_struct", "tasks")]
    [InlineData("task_struct", "se")]
    [InlineData("list_head", "next")]
    [InlineData("list_head", "prev")]
    [InlineData("module", "name")]
    [InlineData("module", "list")]
    [InlineData("printk_ringbuffer", "desc_ring")]
    [InlineData("printk_ringbuffer", "text_data_ring")]
    [InlineData("printk_ringbuffer", "fail")]
    [InlineData("prb_desc_ring", "count_bits")]
    [InlineData("prb_desc_ring", "infos")]
    [InlineData("prb_desc_ring", "tail_id")]
    [InlineData("printk_info", "caller_id")]
    [InlineData("printk_info", "dev_info")]
    [InlineData("prb_data_ring", "tail_lpos")]
    public void HostDirectMemberOffsetsMatchBpftool(string owner, string member)
    {
        var field = Host.Value.Field($"{owner}.{member}");
        Assert.Equal(HostDump.Value.MemberBits(owner, member), field.BitOffset);
        Assert.Equal(HostDump.Value.MemberType(owner, member), field.Type);
        Assert.Equal(field.BitOffset / 8, Host.Value.OffsetOf(owner, member));
    }

    [Fact]
    public void HostNestedPathsAddUpTheOracleOffsets()
    {
        var d = HostDump.Value;
        var btf = Host.Value;
        Assert.Equal(d.MemberBits("task_struct", "se") + d.MemberBits("sched_entity", "sum_exec_runtime"),
            btf.Field("task_struct.se.sum_exec_runtime").BitOffset);
        Assert.Equal(d.MemberBits("printk_ringbuffer", "desc_ring") + d.MemberBits("prb_desc_ring", "head_id")
                + d.DeepMemberBits("atomic_long_t", "counter"),
            btf.Field("printk_ringbuffer.desc_ring.head_id.counter").BitOffset);
        // comm[3]: one char per element.
        Assert.Equal(d.MemberBits("task_struct", "comm") + 3 * 8, btf.Field("task_struct.comm[3]").BitOffset);
        Assert.Equal(16UL, btf.SizeOf(btf.Field("task_struct.comm").Type));
        Assert.Equal(16UL, btf.SizeOf("list_head"));
        Assert.Equal(8UL, btf.SizeOf(btf.Field("task_struct.tasks.next").Type));
    }

    [Fact]
    public void HostAnonymousMembersAndBitfieldsResolve()
    {
        var btf = Host.Value;
        var d = HostDump.Value;
        // struct page keeps lru inside nested anonymous unions and structs.
        var expected = d.DeepMemberBits("page", "lru");
        Assert.NotNull(expected);
        Assert.True(d.MemberBits("page", "flags") < expected);
        Assert.Equal(expected, btf.Field("page.lru").BitOffset);
        Assert.Equal(d.DeepMemberBits("page", "_refcount"), btf.Field("page._refcount").BitOffset);

        // A one-bit bitfield of task_struct, as bpftool lists it.
        var bit = d.Types.Values.First(t => t.Name == "task_struct" && t.Kind == "STRUCT").Entries.First(e => e.Fields.ContainsKey("bitfield_size"));
        var f = btf.Field("task_struct." + bit.Name);
        Assert.True(f.IsBitfield);
        Assert.Equal(uint.Parse(bit.Fields["bitfield_size"]), f.BitfieldSize);
        Assert.Equal(ulong.Parse(bit.Fields["bits_offset"]), f.BitOffset);
    }

    [Fact]
    public void HostLookupsByNameAndKind()
    {
        var btf = Host.Value;
        var ts = btf.Find("task_struct", BtfKind.Struct);
        Assert.NotNull(ts);
        Assert.Equal("task_struct", HostDump.Value.Types[ts!.Id].Name);
        Assert.Equal(BtfKind.Typedef, btf.Find("u64", BtfKind.Typedef)!.Kind);
        Assert.Equal(8UL, btf.SizeOf("u64"));
        Assert.Null(btf.Find("task_struct", BtfKind.Union));
        Assert.Null(btf.OffsetOf("task_struct", "no_such_member"));
        Assert.False(btf.TryField("no_such_struct.x", out _, out var problem));
        Assert.Contains("no_such_struct", problem);
    }


    [Fact]
    public void Debian61VmlinuxSectionMatchesBpftool()
    {
        var btf = BtfTypes.FromElf(Oracles.Vmlinux);
        var diffs = BtfOracleComparison.Differences(btf, BpftoolDump.Load(Oracles.Vmlinux), 1);
        Assert.True(diffs.Count == 0, string.Join('\n', diffs));
        // VMCOREINFO's printk offsets on 6.1 must agree with what BTF says.
        Assert.Equal(btf.OffsetOf("printk_info", "caller_id"), btf.Field("printk_info.caller_id").ByteOffset);
    }

    [Theory]
    [InlineData("fs/binfmt_misc.ko")]
    [InlineData("net/key/af_key.ko")]
    [InlineData("fs/btrfs/btrfs.ko")]
    public void Debian61ModuleSplitBtfMatchesBpftool(string module)
    {
        var path = Path.Combine(Oracles.ModulesDir, module);
        var vmlinux = BtfTypes.FromElf(Oracles.Vmlinux);
        var btf = BtfTypes.FromElf(path, vmlinux);
        Assert.Equal(vmlinux.EndId, btf.FirstId);
        var diffs = BtfOracleComparison.Differences(btf, BpftoolDump.Load(path, Oracles.Vmlinux), btf.FirstId);
        Assert.True(diffs.Count == 0, string.Join('\n', diffs));
        // Split types see base types through their ids and names.
        Assert.NotNull(btf.Find("list_head", BtfKind.Struct));
    }

    [Fact]
    public void Debian61BtfReadFromImageMemoryEqualsTheSection()
    {
        var map = SystemMap.Load(Oracles.SystemMap);
        using var image = ElfImage.Open(Oracles.Vmlinux);
        var start = map.Lookup("__start_BTF")!.Value.Address;
        var stop = map.Lookup("__stop_BTF")!.Value.Address;
        var fromMemory = BtfTypes.FromMemory(image, start, stop);
        var fromSection = BtfTypes.FromElf(image);
        Assert.Equal(fromSection.EndId, fromMemory.EndId);
        Assert.Equal(fromSection.Field("task_struct.comm").BitOffset, fromMemory.Field("task_struct.comm").BitOffset);
        Assert.Equal(fromSection.Field("printk_info.dev_info").BitOffset, fromMemory.Field("printk_info.dev_info").BitOffset);
    }
}
