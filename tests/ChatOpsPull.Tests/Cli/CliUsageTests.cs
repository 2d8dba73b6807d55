using ChatOpsPull.Tests.Infrastructure;
using ChatOpsPull.Cli;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Cli;

/// <summary>Help and usage errors of the command line; none of these start the web host.</summary>
public sealed class CliUsageTests
{
    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_every_command(string arg)
    {
        var (code, output, error) = await RunAsync(arg);

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Contains("serve", output, StringComparison.Ordinal);
        Assert.Contains("classify", output, StringComparison.Ordinal);
        Assert.Contains("help", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_for_a_command_prints_its_usage()
    {
        var (code, output, _) = await RunAsync("help", "classify");

        Assert.Equal(0, code);
        Assert.Contains("usage: chatopspull classify", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "help", "frobnicate" }, "chatopspull help: unknown command 'frobnicate'")]
    [InlineData(new[] { "help", "classify", "extra" }, "chatopspull help: unexpected argument 'extra'")]
    [InlineData(new[] { "frobnicate" }, "chatopspull: unknown command 'frobnicate'")]
    [InlineData(new[] { "serve", "-x" }, "chatopspull serve: unknown option '-x'")]
    [InlineData(new[] { "serve", "stray" }, "chatopspull serve: unexpected argument 'stray'")]
    [InlineData(new[] { "serve", "--Bot:Cluster" }, "option '--Bot:Cluster' needs a value (--Bot:Cluster=value)")]
    [InlineData(new[] { "--Bot:Cluster" }, "option '--Bot:Cluster' needs a value")]
    [InlineData(new[] { "serve", "--=x" }, "option '--=x' has no name")]
    public async Task Usage_errors_exit_2_with_a_sentence_on_stderr(string[] args, string expected)
    {
        var (code, output, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Bot:Cluster=prod-eu")]
    [InlineData("--Bot:Cluster prod-eu /Bot:DataDirectory=/data")]
    [InlineData("")]
    public void Configuration_options_are_accepted(string args)
    {
        Assert.Null(ConfigurationArguments.Problem(args.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Serve_help_prints_help_instead_of_starting()
    {
        var (code, output, _) = await RunAsync("serve", "--help");

        Assert.Equal(0, code);
        Assert.Contains("usage: chatopspull", output, StringComparison.Ordinal);
    }
}
