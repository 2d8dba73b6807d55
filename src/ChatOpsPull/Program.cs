using ChatOpsPull.Cli;
using ChatOpsPull.Hosting;

return await CliApp.RunAsync(args, Console.In, Console.Out, Console.Error).ConfigureAwait(false);

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
