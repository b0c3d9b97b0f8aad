// makedumpfile's flattened stream, read in place: chunked, shuffled and overwritten records,
// wrapping kdump-compressed and ELF files.
using CsCheck;
using Kdx.Dump.Compression;
using Kdx.Dump.IO;
using Kdx.Dump.Tests.Synthetic;

namespace Kdx.Dump.Tests;

public class FlattenedTests
{
    [Theory]
    [InlineData(4096, null, false)]
    [InlineData(1000, 7, false)]
    [InlineData(777, 3, true)]
    public void Flattened_kdump_reads_like_the_plain_file(int chunk, int? seed, bool stale)
    {
        var m = SyntheticMachine.Sample();
        var plain = KdumpWriter.Write(m, new KdumpOptions { Method = KdumpFlags.Zlib });
        using var dump = TestDumps.Open(FlattenedWriter.Wrap(plain, chunk, seed, stale));
        Assert.True(dump.IsFlattened);
        Assert.Contains("flattened", dump.FormatDescription);
        Assert.False(dump.IsIncomplete);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: true);
    }

    [Fact]
    public void Flattened_elf_core()
    {
        var m = SyntheticMachine.Sample();
        using var dump = TestDumps.Open(FlattenedWriter.Wrap(ElfCoreWriter.Write(m), 5000, 11));
        Assert.Equal(DumpFormat.ElfCore, dump.Format);
        Assert.True(dump.IsFlattened);
        TestDumps.AssertMatches(m, dump, zeroPagesShared: false);
    }

    [Fact]
    public void Rebuilt_bytes_equal_the_original_file()
    {
        var plain = KdumpWriter.Write(SyntheticMachine.Sample());
        using var flat = FlattenedSource.Open(new MemoryByteSource("f", FlattenedWriter.Wrap(plain, 333, 5, staleRecords: true)));
        var rebuilt = new byte[plain.Length];
        Assert.Equal(plain.Length, flat.ReadAt(0, rebuilt));
        Assert.Equal(plain, rebuilt);
        Assert.False(flat.Truncated);
    }

    [Fact]
    public void Stream_without_end_marker_is_read_as_truncated()
    {
        var m = SyntheticMachine.Sample();
        var plain = KdumpWriter.Write(m);
        var wrapped = FlattenedWriter.Wrap(plain, 4096, endMarker: false);
        var cut = wrapped.AsSpan(0, wrapped.Length - 6000).ToArray();
        using var dump = TestDumps.Open(cut);
        Assert.True(dump.IsIncomplete);
        var c = dump.CountPages();
        Assert.True(c.Lost > 0);
        Assert.Equal((ulong)m.Pages.Count, c.Present + c.Zero!.Value + c.Lost);
    }

    [Fact]
    public void Record_with_negative_size_is_refused()
    {
        var wrapped = FlattenedWriter.Wrap(KdumpWriter.Write(SyntheticMachine.Sample()), 4096);
        // Make the second record's size -16: a reader that trusted it would step back onto itself forever.
        var second = 4096 + 16 + 4096;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(wrapped.AsSpan(second + 8), -16);
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.Open(wrapped));
        Assert.Equal(second, e.Offset);
    }

    [Fact]
    public void Flattened_stream_of_something_else_is_named()
    {
        var wrapped = FlattenedWriter.Wrap("not a dump at all, just text"u8.ToArray());
        var e = Assert.Throws<DumpFormatException>(() => TestDumps.Open(wrapped));
        Assert.Contains("flattened stream holds unknown format", e.Problem);
    }

    [Fact]
    public void Any_record_layout_reads_like_a_replay_into_a_file()
    {
        // Random, overlapping records in random order: the index must give what writing them to a
        // file one after the other gives (later records win, gaps read as zero).
        var record = Gen.Select(Gen.Int[0, 20000], Gen.Int[0, 3000], Gen.Byte, (offset, length, fill) => (offset, length, fill));
        record.Array[1, 40].Sample(records =>
        {
            var end = records.Max(r => r.offset + r.length);
            var replay = new byte[end];
            var stream = new MemoryStream();
            var header = FlattenedWriter.Wrap([], endMarker: false);
            stream.Write(header);
            for (var i = 0; i < records.Length; i++)
            {
                var (offset, length, fill) = records[i];
                var data = Enumerable.Range(0, length).Select(k => (byte)(fill + k + i)).ToArray();
                data.CopyTo(replay, offset);
                FlattenedWriter.Record(stream, offset, data);
            }
            stream.Write(Enumerable.Repeat((byte)0xff, 16).ToArray());
            using var flat = FlattenedSource.Open(new MemoryByteSource("f", stream.ToArray()));
            Assert.Equal(end, flat.Length);
            var read = new byte[end];
            Assert.Equal(end, flat.ReadAt(0, read));
            Assert.Equal(replay, read);
            // and piecewise, from anywhere
            var piece = new byte[777];
            for (var at = 0; at < end; at += 500)
            {
                var n = flat.ReadAt(at, piece);
                Assert.Equal(Math.Min(777, end - at), n);
                Assert.True(replay.AsSpan(at, n).SequenceEqual(piece.AsSpan(0, n)));
            }
        }, iter: 300);
    }
}
