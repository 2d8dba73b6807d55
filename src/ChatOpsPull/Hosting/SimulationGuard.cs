using ChatOpsPull.Configuration;
using ChatOpsPull.Fleet;
using ChatOpsPull.Kubernetes;
using k8s.Exceptions;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

/// <summary>
/// Keeps the simulation apart from real clusters: with Bot:Simulation the bot starts only in single-cluster mode and with
/// a kubeconfig whose API server is on this machine's loopback (the simulated one), never with in-cluster or remote
/// credentials.
/// </summary>
public sealed class SimulationGuard(IConfiguration configuration) : IValidateOptions<BotOptions>
{
    public ValidateOptionsResult Validate(string? name, BotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Simulation)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        if (configuration.GetValue<bool>($"{FleetOptions.Section}:{nameof(FleetOptions.Enabled)}"))
        {
            problems.Add("Bot:Simulation cannot run in fleet mode (Fleet:Enabled): the simulated cluster would join real clusters' queues.");
        }

        var kubeconfig = configuration[$"{KubernetesOptions.Section}:{nameof(KubernetesOptions.KubeconfigPath)}"];
        if (string.IsNullOrWhiteSpace(kubeconfig))
        {
            problems.Add("Bot:Simulation needs the simulated cluster's kubeconfig (chatopspull demo --simulate writes it); it never uses in-cluster or default credentials.");
        }
        else
        {
            try
            {
                using var connection = KubernetesConnection.FromKubeconfig(kubeconfig, configuration[$"{KubernetesOptions.Section}:{nameof(KubernetesOptions.Context)}"]);
                if (connection.Client?.BaseUri is not { IsLoopback: true })
                {
                    problems.Add("Bot:Simulation refuses a kubeconfig whose API server is not the simulated one on loopback: it never runs with real Kubernetes credentials.");
                }
            }
            catch (KubeConfigException)
            {
                problems.Add("Bot:Simulation: the kubeconfig cannot be used.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
