using System.Reflection;
using System.Text.Json;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Configuration;
using ChatOpsPull.Chat.Routing;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Registry;
using ChatOpsPull.Storage;
using ChatOpsPull.Web;
using Microsoft.Extensions.Configuration;

namespace ChatOpsPull.Tests.Configuration;

/// <summary>
/// The shipped <c>appsettings.json</c> is the documented options file: it lists every setting of every section, each with
/// the value the code uses when the setting is absent, and no key that binds to nothing (a typo would be ignored silently).
/// </summary>
public sealed class OptionsFileTests
{
    public static TheoryData<string, Type> Sections => new()
    {
        { BotOptions.Section, typeof(BotOptions) },
        { StorageOptions.Section, typeof(StorageOptions) },
        { JobsOptions.Section, typeof(JobsOptions) },
        { IncidentOptions.Section, typeof(IncidentOptions) },
        { ChatOpsPull.Diagnosing.DiagnosisOptions.Section, typeof(ChatOpsPull.Diagnosing.DiagnosisOptions) },
        { KubernetesOptions.Section, typeof(KubernetesOptions) },
        { RegistryOptions.Section, typeof(RegistryOptions) },
        { AlertmanagerWebhookOptions.Section, typeof(AlertmanagerWebhookOptions) },
        { GenericWebhookOptions.Section, typeof(GenericWebhookOptions) },
        { ChatRoutingOptions.Section, typeof(ChatRoutingOptions) },
        { SlackOptions.Section, typeof(SlackOptions) },
        { TeamsOptions.Section, typeof(TeamsOptions) },
        { OutboxOptions.Section, typeof(OutboxOptions) },
        { LocalUsersOptions.Section, typeof(LocalUsersOptions) },
        { ChatOpsPull.Prevention.AdmissionOptions.Section, typeof(ChatOpsPull.Prevention.AdmissionOptions) },
        { ChatOpsPull.Prevention.SweepOptions.Section, typeof(ChatOpsPull.Prevention.SweepOptions) },
    };

    private static readonly string OptionsFile = Path.Combine(AppContext.BaseDirectory, "appsettings.json");

    [Theory]
    [MemberData(nameof(Sections))]
    public void The_options_file_gives_every_setting_the_default_the_code_uses(string section, Type type)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(OptionsFile).Build();
        var bound = Activator.CreateInstance(type)!;
        configuration.GetSection(section).Bind(bound);

        Assert.Equal(JsonSerializer.Serialize(Activator.CreateInstance(type), type), JsonSerializer.Serialize(bound, type));
    }

    [Theory]
    [MemberData(nameof(Sections))]
    public void The_options_file_lists_every_setting_and_nothing_else(string section, Type type)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(OptionsFile));
        var element = section.Split(':').Aggregate(document.RootElement, (e, name) => e.GetProperty(name));
        var listed = element.EnumerateObject().Select(p => p.Name).Where(n => !IsSubsection(section, n)).Order(StringComparer.Ordinal).ToArray();
        var settable = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(settable, listed);
    }

    /// <summary>Alerts:Alertmanager and Alerts:Generic are sections of their own inside Alerts.</summary>
    private static bool IsSubsection(string section, string name) => section == AlertWebhookOptions.Section && name is "Alertmanager" or "Generic";

    [Fact]
    public void The_shared_alert_settings_are_listed_too()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(OptionsFile).Build();
        var bound = configuration.GetSection(AlertWebhookOptions.Section).Get<AlertWebhookOptions>()!;
        Assert.Equal(new AlertWebhookOptions().MaxBodyBytes, bound.MaxBodyBytes);
        Assert.Empty(bound.ExtraPullReasons);
    }
}
