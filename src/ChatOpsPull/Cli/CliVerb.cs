namespace ChatOpsPull.Cli;

/// <summary>Standard streams for a verb, so tests can drive verbs in process.</summary>
public sealed record CliIo(TextReader In, TextWriter Out, TextWriter Error);

public sealed record CliVerb(string Name, string Summary, Func<string[], CliIo, Task<int>> RunAsync, string? Usage = null);
