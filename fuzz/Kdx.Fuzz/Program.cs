// kdx-fuzz TARGET: runs one fuzz target under afl-fuzz (SharpFuzz's out-of-process runner);
// kdx-fuzz TARGET --replay FILE... runs the target once per file, for reproducing a crash;
// kdx-fuzz seeds DIR writes a seed corpus per target into DIR/TARGET/.
using Kdx.Fuzz;
using SharpFuzz;

if (args.Length == 2 && args[0] == "seeds")
{
    Seeds.Write(args[1]);
    return 0;
}

if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: kdx-fuzz TARGET [--replay FILE...]   targets: {string.Join(", ", Targets.All.Keys)}");
    return 1;
}
if (args.Length > 1 && args[1] == "--replay")
{
    foreach (var file in args.Skip(2))
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    target(ms.ToArray());
});
return 0;
