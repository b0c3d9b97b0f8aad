using Kdx.Lab;

namespace Kdx.Lab.Tests;

public class DumpSignatureTests
{
    [Theory]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1 }, "elf")]
    [InlineData(new byte[] { (byte)'K', (byte)'D', (byte)'U', (byte)'M', (byte)'P', 32, 32, 32, 6, 0 }, "kdump")]
    [InlineData(new byte[] { (byte)'m', (byte)'a', (byte)'k', (byte)'e', (byte)'d', (byte)'u', (byte)'m', (byte)'p', (byte)'f', (byte)'i', (byte)'l', (byte)'e', 0, 0 }, "flattened")]
    [InlineData(new byte[] { 0x1f, 0x8b, 8 }, "unknown")]
    [InlineData(new byte[0], "unknown")]
    public void NamesTheFormat(byte[] head, string format)
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(f, head);
            Assert.Equal(format, DumpSignature.Of(f));
        }
        finally
        {
            File.Delete(f);
        }
    }

    [Fact]
    public void ModuleNamesFollowKmod()
    {
        Assert.Equal("virtio_pci", Initramfs.ModuleName("kernel/drivers/virtio/virtio_pci.ko"));
        Assert.Equal("crc32c_generic", Initramfs.ModuleName("kernel/crypto/crc32c-generic.ko.xz"));
    }
}
