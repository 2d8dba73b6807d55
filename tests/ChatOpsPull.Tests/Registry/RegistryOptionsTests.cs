using ChatOpsPull.Registry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Registry;

public sealed class RegistryOptionsTests
{
    private static async Task<string?> StartFailureAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddRegistry(builder.Configuration);
        using var host = builder.Build();
        try
        {
            await host.StartAsync();
            await host.StopAsync();
            return null;
        }
        catch (OptionsValidationException e)
        {
            return string.Join("\n", e.Failures);
        }
    }

    [Fact]
    public async Task Defaults_start()
    {
        Assert.Null(await StartFailureAsync([]));
    }

    [Fact]
    public async Task A_ca_file_that_is_not_there_stops_the_start_with_a_sentence()
    {
        var failure = await StartFailureAsync(new()
        {
            ["Registry:Hosts:0:Host"] = "registry.internal:5000",
            ["Registry:Hosts:0:CaFiles:0"] = "/nonexistent/ca.pem",
        });

        Assert.NotNull(failure);
        Assert.Contains("Registry:Hosts:0:CaFiles \"/nonexistent/ca.pem\" cannot be read as PEM certificates", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_without_certificates_stops_the_start()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "not a certificate");
        try
        {
            var failure = await StartFailureAsync(new() { ["Registry:Hosts:0:Host"] = "registry.internal:5000", ["Registry:Hosts:0:CaFiles:0"] = file });

            Assert.Contains("holds no PEM certificate", failure, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Registry:ConnectTimeout", "00:00:00", "Registry:ConnectTimeout must be more than 0")]
    [InlineData("Registry:RequestTimeout", "01:00:00", "Registry:RequestTimeout must be more than 0 and at most 00:05:00")]
    [InlineData("Registry:CheckTimeout", "00:00:02", "Registry:CheckTimeout (00:00:02) must be at least Registry:RequestTimeout")]
    [InlineData("Registry:CacheWindow", "-00:00:01", "Registry:CacheWindow must be between")]
    [InlineData("Registry:TagPageSize", "0", "Registry:TagPageSize must be between 1 and 10000")]
    [InlineData("Registry:Hosts:0:Host", "https://registry.internal", "must be a host with an optional port and no scheme or path")]
    [InlineData("Registry:Hosts:0:Host", "", "Registry:Hosts:0:Host must name a registry host")]
    public async Task Wrong_values_stop_the_start_with_a_sentence(string key, string value, string expected)
    {
        var failure = await StartFailureAsync(new() { [key] = value });

        Assert.NotNull(failure);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_with_a_ca_file_is_contradictory()
    {
        var failure = await StartFailureAsync(new()
        {
            ["Registry:Hosts:0:Host"] = "registry.internal:5000",
            ["Registry:Hosts:0:PlainHttp"] = "true",
            ["Registry:Hosts:0:SkipVerify"] = "true",
        });

        Assert.Contains("sets PlainHttp together with CaFiles or SkipVerify", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_host_twice_is_refused()
    {
        var failure = await StartFailureAsync(new()
        {
            ["Registry:Hosts:0:Host"] = "registry.internal:5000",
            ["Registry:Hosts:1:Host"] = "registry.internal:5000",
        });

        Assert.Contains("lists \"registry.internal:5000\" twice", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_bot_host_registers_the_registry_checker()
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage) { BackgroundWork = false };

        Assert.NotNull(host.Services.GetService<RegistryChecker>());
    }
}
