using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat.Teams;
using ChatOpsPull.Observability;
using ChatOpsPull.Registry;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Incidents;
using ChatOpsPull.Jobs;
using ChatOpsPull.Detection.Webhooks;
using ChatOpsPull.Diagnosing;
using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Digest;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Chat.Digest;
using ChatOpsPull.Web;
using ChatOpsPull.Admission;
using ChatOpsPull.Chat.Prevention;
using ChatOpsPull.Prevention;
using ChatOpsPull.Fleet;
using ChatOpsPull.Configuration;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

/// <summary>Builds the web host: every capability registers its services and maps its endpoints here.</summary>
public static class BotHost
{
    /// <param name="configure">Runs after every capability registered itself and before the host is built, so tests and the
    /// load driver can replace a service (e.g. a recording <c>IPullFailureSink</c>) in a host that listens on real TCP.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = HostDefaults.ContentRoot(args) });
        HostDefaults.Apply(builder);
        builder.Services.AddBotCore(builder.Configuration, builder.Environment.ContentRootPath);
        builder.Services.AddSingleton<IValidateOptions<BotOptions>, SimulationGuard>();
        builder.Services.AddStorage(builder.Configuration);
        builder.Services.AddObservability();
        builder.Services.AddHealth();
        builder.Services.AddTeams(builder.Configuration);
        builder.Services.AddSingleton(sp => ClusterApiServer.FromEnvironment(sp.GetRequiredService<KubernetesConnection>().Client?.BaseUri));
        builder.Services.AddRegistry(builder.Configuration);
        builder.Services.AddKubernetes(builder.Configuration);
        builder.Services.AddFleet(builder.Configuration);
        builder.Services.AddKubernetesWatch();
        builder.Services.AddAlertWebhooks(builder.Configuration);
        builder.Services.AddChatOutbox();
        builder.Services.AddSlack(builder.Configuration);
        builder.Services.AddLocalLogin(builder.Configuration);
        builder.Services.AddJobs(builder.Configuration);
        builder.Services.AddIncidents(builder.Configuration);
        builder.Services.AddDiagnosis();
        builder.Services.AddDiagnosisJobs();
        builder.Services.AddDigest(builder.Configuration);
        builder.Services.AddDigestCards();
        builder.Services.AddRemediation(builder.Configuration);
        builder.Services.AddApprovals(builder.Configuration);
        builder.Services.AddChatActions();
        builder.Services.AddChatCommands(builder.Configuration);
        builder.Services.AddPrevention(builder.Configuration);
        builder.Services.AddPreventionCards();
        builder.Services.AddAdmission(builder.Configuration);
        builder.Services.AddWebPage(builder.Configuration);

        configure?.Invoke(builder);
        var app = builder.Build();
        HostDefaults.LogDataDirectory(app);
        app.UseRejectedRequestMetrics();
        app.MapAdmission();
        app.UseLocalLogin();
        app.MapHealth();
        app.MapObservability();
        app.MapTeams();
        app.MapJobsDashboard();
        app.MapAlerts();
        app.MapSlack();
        app.MapDigest();
        app.MapWebPage();
        return app;
    }
}
