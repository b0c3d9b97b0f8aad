// A lab failure with the reason a person needs (and, for a guest, the console log's tail).
namespace Kdx.Lab;

public sealed class LabException(string message) : Exception(message);

/// <summary>
/// A guest whose console stopped: under TCG a boot now and then stops for good early on (seen once
/// in many boots, after "VFS: Dquot-cache hash table entries"); booting again gets past it.
/// </summary>
public sealed class GuestStalledException(string message) : Exception(message);
