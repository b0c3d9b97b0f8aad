// Reads members of kernel objects by name ("task_struct", "pid"): offsets from VMCOREINFO then
// BTF, widths and signedness from BTF, so no caller knows a number about a struct.
using Kdx.Kernel.Btf;
using Kdx.Kernel.Memory;

namespace Kdx.Kernel.Objects;

public sealed class KernelObjects(IKernelMemory memory, KernelLayout layout)
{
    public IKernelMemory Memory { get; } = memory;
    public KernelLayout Layout { get; } = layout;

    private BtfTypes Btf => Layout.Btf ?? throw KernelLayout.Missing("BTF (the kernel has none in the dump)");

    public bool Has(string type, string member) => Layout.Offset(type, member) is not null;

    /// <summary>The address of a member of the object at <paramref name="address"/>.</summary>
    public ulong AddressOf(ulong address, string type, string member) => address + Layout.RequireOffset(type, member);

    public ulong Pointer(ulong address, string type, string member) => Memory.ReadPointer(AddressOf(address, type, member));

    /// <summary>An integer member of any width (1, 2, 4, 8 bytes), sign-extended when BTF says it is signed.</summary>
    public long Integer(ulong address, string type, string member)
    {
        var (size, signed) = IntegerShape(type + "." + member);
        return ReadInteger(AddressOf(address, type, member), size, signed);
    }

    public ulong Unsigned(ulong address, string type, string member) => (ulong)Integer(address, type, member);

    /// <summary>A fixed char array member (e.g. task_struct.comm) as text.</summary>
    public string CharArray(ulong address, string type, string member)
    {
        var length = Btf.SizeOf(Btf.Field(type + "." + member).Type) ?? throw KernelLayout.Missing($"SIZE({type}.{member})");
        return Memory.ReadCString(AddressOf(address, type, member), (int)length);
    }

    /// <summary>The size of a member (from BTF).</summary>
    public ulong MemberSize(string type, string member) =>
        Btf.SizeOf(Btf.Field(type + "." + member).Type) ?? throw KernelLayout.Missing($"SIZE({type}.{member})");

    public ulong SizeOf(string type) => Layout.RequireSize(type);

    /// <summary>The value of an enumerator of the kernel's enums, from BTF.</summary>
    public long Enumerator(string name) => Btf.EnumeratorValue(name) ?? throw KernelLayout.Missing($"enumerator {name}");

    /// <summary>Size and signedness of an integer type path (typedefs, atomics' counter resolved by the caller).</summary>
    private (int Size, bool Signed) IntegerShape(string path)
    {
        var field = Btf.Field(path);
        var t = Btf.Resolve(field.Type);
        return t.Kind switch
        {
            BtfKind.Int => ((int)t.Size, t.IntEncoding.HasFlag(BtfIntEncoding.Signed)),
            BtfKind.Enum or BtfKind.Enum64 => ((int)t.Size, t.KindFlag),
            BtfKind.Ptr => ((int)BtfTypes.PointerSize, false),
            _ => throw new KeyNotFoundException($"{path} is a {t.Kind}, not an integer"),
        };
    }

    /// <summary>An integer of the given width at <paramref name="vaddr"/>.</summary>
    public long ReadInteger(ulong vaddr, int size, bool signed) => size switch
    {
        1 => signed ? (sbyte)Memory.ReadU8(vaddr) : Memory.ReadU8(vaddr),
        2 => signed ? (short)Memory.ReadU16(vaddr) : Memory.ReadU16(vaddr),
        4 => signed ? Memory.ReadS32(vaddr) : Memory.ReadU32(vaddr),
        8 => (long)Memory.ReadU64(vaddr),
        _ => throw new KeyNotFoundException($"integer of {size} bytes"),
    };

    /// <summary>
    /// Walks a kernel list_head ring starting at the head at <paramref name="head"/>, yielding the
    /// containing objects (entry = node - offset of <paramref name="member"/>); stops at the head
    /// and after <paramref name="limit"/> entries (a corrupt ring must not loop forever).
    /// </summary>
    public IEnumerable<ulong> ListEntries(ulong head, string type, string member, int limit = 1 << 20)
    {
        var offset = Layout.RequireOffset(type, member);
        var next = Memory.ReadPointer(head);
        for (var n = 0; next != head && next != 0; n++)
        {
            if (n >= limit)
                throw new Kdx.Dump.DumpFormatException("kernel list", (long)head, $"list at 0x{head:x} has more than {limit} entries (corrupt?)");
            yield return next - offset;
            next = Memory.ReadPointer(next);
        }
    }

    /// <summary>
    /// The objects of a list_head ring like <see cref="ListEntries"/>, but a node the dump lacks
    /// does not end the walk: the ring is walked backwards (prev pointers) from the head to pick up
    /// the entries after the break, and each break is added to <paramref name="gaps"/>.
    /// </summary>
    public List<ulong> ReadList(ulong head, string type, string member, ICollection<ReadGap> gaps, string what, int limit = 1 << 20)
    {
        var offset = Layout.RequireOffset(type, member);
        var prevOffset = Layout.RequireOffset("list_head", "prev");
        var forward = new List<ulong>();
        var seen = new HashSet<ulong> { head };
        var node = head;
        try
        {
            for (var next = Memory.ReadPointer(head); !seen.Contains(next) && next != 0; next = Memory.ReadPointer(next))
            {
                if (forward.Count >= limit)
                    throw new Kdx.Dump.DumpFormatException("kernel list", (long)head, $"list at 0x{head:x} has more than {limit} entries (corrupt?)");
                seen.Add(next);
                forward.Add(next - offset);
                node = next;
            }
            return forward;
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            gaps.Add(ReadGap.From($"{what}: the list_head at 0x{node:x} (the list continues from its other end)", e));
        }
        var backward = new List<ulong>();
        node = head;
        try
        {
            for (var prev = Memory.ReadPointer(head + prevOffset); !seen.Contains(prev) && prev != 0; prev = Memory.ReadPointer(prev + prevOffset))
            {
                if (forward.Count + backward.Count >= limit)
                    throw new Kdx.Dump.DumpFormatException("kernel list", (long)head, $"list at 0x{head:x} has more than {limit} entries (corrupt?)");
                seen.Add(prev);
                backward.Add(prev - offset);
                node = prev;
            }
        }
        catch (Exception e) when (ReadGap.IsMissingData(e))
        {
            gaps.Add(ReadGap.From($"{what}: the list_head at 0x{node:x} walking back (entries between the two breaks are lost)", e));
        }
        backward.Reverse();
        forward.AddRange(backward);
        return forward;
    }
}
