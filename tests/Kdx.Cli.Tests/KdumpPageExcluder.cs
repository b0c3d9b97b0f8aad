// Copies a kdump-compressed file with some pages excluded, as if the dump level had filtered them:
// their bit in the 2nd bitmap is cleared and their page descriptor removed from the table (the
// n-th descriptor belongs to the n-th pfn set in the 2nd bitmap, so later ones move up one slot;
// descriptors hold absolute data offsets, so the page data stays where it is).
using System.Buffers.Binary;

namespace Kdx.Cli.Tests;

internal static class KdumpPageExcluder
{
    private const int DescriptorSize = 24; // struct page_desc: offset, size, flags, page_flags

    public static void Write(string source, string target, IEnumerable<ulong> pfns)
    {
        var file = File.ReadAllBytes(source);
        Assert.True(file.AsSpan(0, 8).SequenceEqual("KDUMP   "u8), $"{source}: not kdump-compressed");
        var blockSize = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(428));
        var subHeaderBlocks = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(432));
        var bitmapBlocks = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(436));
        var bitmap2 = (long)blockSize * (1 + subHeaderBlocks) + (long)bitmapBlocks * blockSize / 2;
        var table = (long)blockSize * (1 + subHeaderBlocks + bitmapBlocks);
        bool Bit(ulong pfn) => (file[bitmap2 + (long)(pfn / 8)] >> (int)(pfn % 8) & 1) != 0;

        long descriptors = 0;
        for (var i = bitmap2; i < table; i++)
            descriptors += System.Numerics.BitOperations.PopCount(file[i]);
        foreach (var pfn in pfns.Distinct().OrderDescending())
        {
            Assert.True(Bit(pfn), $"pfn 0x{pfn:x} is not in {source}");
            long rank = 0;
            for (ulong p = 0; p < pfn; p++)
                rank += Bit(p) ? 1 : 0;
            var at = table + rank * DescriptorSize;
            var end = table + descriptors * DescriptorSize;
            file.AsSpan((int)(at + DescriptorSize), (int)(end - at - DescriptorSize)).CopyTo(file.AsSpan((int)at));
            file.AsSpan((int)(end - DescriptorSize), DescriptorSize).Clear();
            descriptors--;
            file[bitmap2 + (long)(pfn / 8)] &= (byte)~(1 << (int)(pfn % 8));
        }
        File.WriteAllBytes(target, file);
    }
}
