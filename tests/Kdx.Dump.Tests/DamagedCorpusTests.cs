// Damaged and hostile files: truncated at many offsets, header fields set to extreme values,
// huge counts, random corruption. Each must end in DumpFormatException (or, for pages, in
// PageNotInDumpException), never another exception, a hang or a huge allocation.
using System.Buffers.Binary;
using System.Diagnostics;
using CsCheck;
using Kdx.Dump.Compression;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class DamagedCorpusTests
{
    private static readonly SyntheticMachine Machine = SyntheticMachine.Sample();

    public static TheoryData<string> Kinds => ["elf", "kdump-none", "kdump-zlib", "kdump-lzo", "kdump-snappy", "kdump-zstd", "flat-kdump", "flat-elf"];

    private static byte[] Build(string kind) => kind switch
    {
        "elf" => ElfCoreWriter.Write(Machine),
        "kdump-none" => KdumpWriter.Write(Machine, new KdumpOptions { Method = KdumpFlags.None }),
        "kdump-zlib" => KdumpWriter.Write(Machine, new KdumpOptions { Method = KdumpFlags.Zlib }),
        "kdump-lzo" => KdumpWriter.Write(Machine, new KdumpOptions { Method = KdumpFlags.Lzo }),
        "kdump-snappy" => KdumpWriter.Write(Machine, new KdumpOptions { Method = KdumpFlags.Snappy }),
        "kdump-zstd" => KdumpWriter.Write(Machine, new KdumpOptions { Method = KdumpFlags.Zstd }),
        "flat-kdump" => FlattenedWriter.Wrap(KdumpWriter.Write(Machine), 3000, 1),
        "flat-elf" => FlattenedWriter.Wrap(ElfCoreWriter.Write(Machine), 3000, 1),
        _ => throw new ArgumentException(kind),
    };

    /// <summary>Opens and reads everything. Returns the first DumpFormatException, or null when all went well.</summary>
    public static DumpFormatException? Exercise(byte[] bytes)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var dump = TestDumps.Open(bytes, "damaged");
            DumpFormatException? first = null;
            try
            {
                _ = dump.CountPages();
            }
            catch (DumpFormatException e)
            {
                first = e; // and go on: every page must still fail cleanly or read
            }
            var page = new byte[dump.PageSize];
            var limit = Math.Min(dump.MaxPfn, 4096UL);
            for (ulong pfn = 0; pfn < limit; pfn++)
            {
                try
                {
                    _ = dump.GetPageState(pfn);
                    dump.Read(pfn * (ulong)dump.PageSize, page);
                }
                catch (PageNotInDumpException)
                {
                }
                catch (DumpFormatException e)
                {
                    first ??= e;
                }
            }
            return first;
        }
        catch (DumpFormatException e)
        {
            Assert.Equal("damaged", e.File);
            return e;
        }
        finally
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "took too long: a loop without forward progress?");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Undamaged_files_read_cleanly(string kind) => Assert.Null(Exercise(Build(kind)));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_truncation_fails_cleanly(string kind)
    {
        var full = Build(kind);
        var isFlat = kind.StartsWith("flat", StringComparison.Ordinal);
        for (var len = 0; len < full.Length; len += len < 8192 ? 61 : 997)
        {
            var e = Exercise(full.AsSpan(0, len).ToArray());
            // A cut flattened stream is read as an incomplete dump (pages lost), as makedumpfile -R would rebuild it.
            if (!isFlat)
                Assert.True(e is not null, $"{kind} cut at {len} of {full.Length} read without error");
        }
    }

    public static TheoryData<string, int, int, ulong> HeaderFields => new()
    {
        // kind, offset, width, value
        { "elf", 4, 1, 1 },                 // ELFCLASS32
        { "elf", 5, 1, 2 },                 // big-endian
        { "elf", 16, 2, 2 },                // ET_EXEC
        { "elf", 32, 8, ulong.MaxValue },   // e_phoff
        { "elf", 54, 2, 8 },                // e_phentsize too small
        { "elf", 56, 2, 0xfffe },           // e_phnum huge
        { "elf", 56, 2, 0xffff },           // PN_XNUM without section headers
        { "elf", 64 + 32, 8, 1UL << 40 },   // PT_NOTE p_filesz huge
        { "elf", 64 + 8, 8, 1UL << 62 },    // PT_NOTE p_offset far away
        { "elf", 64 + 56 + 40, 8, ulong.MaxValue }, // PT_LOAD p_memsz wraps
        { "elf", 64 + 56 + 32, 8, 1UL << 50 },      // PT_LOAD p_filesz beyond the file
        { "kdump-zlib", 0, 1, (byte)'X' },          // signature
        { "kdump-zlib", 8, 4, 0 },                  // header_version
        { "kdump-zlib", 8, 4, 0x7fffffff },
        { "kdump-zlib", 428, 4, 0 },                // block_size
        { "kdump-zlib", 428, 4, 4097 },
        { "kdump-zlib", 428, 4, 0x40000000 },
        { "kdump-zlib", 432, 4, 0xffffffff },       // sub_hdr_size
        { "kdump-zlib", 432, 4, 100000 },
        { "kdump-zlib", 436, 4, 0xffffffff },       // bitmap_blocks
        { "kdump-zlib", 436, 4, 1000 },
        { "kdump-zlib", 4096 + 96, 8, ulong.MaxValue }, // max_mapnr_64
        { "kdump-zlib", 4096 + 96, 8, 1UL << 20 },
        { "kdump-zlib", 4096 + 40, 8, 1UL << 40 },  // size_vmcoreinfo
        { "kdump-zlib", 4096 + 32, 8, ulong.MaxValue }, // offset_vmcoreinfo
        { "kdump-zlib", 4096 + 56, 8, 1UL << 40 },  // size_note
        { "kdump-zlib", 4096 + 48, 8, 1UL << 60 },  // offset_note
        { "kdump-zlib", 4096 + 88, 8, 1UL << 40 },  // end_pfn_64 beyond max_mapnr (not split: ignored)
    };

    [Theory]
    [MemberData(nameof(HeaderFields))]
    public void Extreme_header_fields_fail_cleanly(string kind, int offset, int width, ulong value)
    {
        var bytes = Build(kind);
        var span = bytes.AsSpan(offset, width);
        switch (width)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }
        var e = Exercise(bytes);
        if (!(kind == "kdump-zlib" && offset == 4096 + 88))
            Assert.NotNull(e);
    }

    [Fact]
    public void Page_descriptors_pointing_anywhere_fail_cleanly()
    {
        var bytes = Build("kdump-zlib");
        var descAt = DescriptorOffset(bytes);
        var values = new (long Offset, uint Size, uint Flags)[]
        {
            (-1, 100, 1), (long.MaxValue, 100, 1), (bytes.Length - 10, 100, 1), (4096, 100000, 1),
            (4096, 0, 1), (4096, 100, 0x7), (4096, 100, 0x40), (4096, 4096, 0x20), (4096, 100, 0x2), (4096, 100, 0x4),
        };
        foreach (var (offset, size, flags) in values)
        {
            var copy = (byte[])bytes.Clone();
            BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(descAt + 24), offset);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(descAt + 24 + 8), size);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(descAt + 24 + 12), flags);
            Assert.NotNull(Exercise(copy));
        }
    }

    private static int DescriptorOffset(byte[] kdump)
    {
        var bs = BinaryPrimitives.ReadInt32LittleEndian(kdump.AsSpan(428));
        var sub = BinaryPrimitives.ReadInt32LittleEndian(kdump.AsSpan(432));
        var bitmap = BinaryPrimitives.ReadInt32LittleEndian(kdump.AsSpan(436));
        return (1 + sub + bitmap) * bs;
    }

    [Fact]
    public void Flattened_record_sizes_and_offsets_that_lie_fail_cleanly()
    {
        var wrapped = Build("flat-kdump");
        foreach (var (field, value) in new[] { (0, -5L), (0, long.MaxValue), (8, -1L), (8, long.MaxValue), (8, 1L << 40), (0, long.MaxValue - 10) })
        {
            var copy = (byte[])wrapped.Clone();
            BinaryPrimitives.WriteInt64BigEndian(copy.AsSpan(4096 + field), value);
            _ = Exercise(copy); // must not throw anything but DumpFormatException, nor hang
        }
        // A wrong flat header version.
        var v = (byte[])wrapped.Clone();
        BinaryPrimitives.WriteInt64BigEndian(v.AsSpan(24), 2);
        Assert.NotNull(Exercise(v));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Random_corruption_fails_cleanly_or_reads(string kind)
    {
        var original = Build(kind);
        var headerish = Math.Min(original.Length, 3 * 4096 + 512);
        Gen.Select(Gen.Int[0, headerish - 1].Array[1, 12], Gen.Byte.Array[12]).Sample(t =>
        {
            var (positions, values) = t;
            var copy = (byte[])original.Clone();
            for (var i = 0; i < positions.Length; i++)
                copy[positions[i]] = values[i];
            _ = Exercise(copy);
        }, iter: 300);
    }

    [Theory]
    [InlineData("flattened-zlib-error.bin")]
    [InlineData("flattened-zlib-error-2.bin")]
    public void Fuzz_finding_zlib_stream_error_is_a_format_error(string input)
    {
        // afl (flattened target) found a page whose zlib data makes the inflater fail with
        // ZLibException, an IOException the decompressor did not turn into DumpFormatException.
        var records = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", "fuzz", input));
        var file = FlattenedWriter.Wrap([], endMarker: false).Concat(records).ToArray();
        // Before the fix the ZLibException escaped Exercise; now every failure is a DumpFormatException.
        Assert.NotNull(Exercise(file));
    }
}
