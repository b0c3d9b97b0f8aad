// A lab failure with the reason a person needs (and, for a guest, the console log's tail).
namespace Kdx.Lab;

public sealed class LabException(string message) : Exception(message);
