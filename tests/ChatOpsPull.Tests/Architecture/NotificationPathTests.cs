using ArchUnitNET.Domain.Dependencies;
using ChatOpsPull.Incidents;
using Xunit.Abstractions;

namespace ChatOpsPull.Tests.Architecture;

/// <summary>
/// One way for news about an incident to reach the notifiers (cards, auto-run): through the incident engine's dispatch,
/// which keeps each incident's news in order, collapses "pods changed", skips snoozed and muted incidents and applies the
/// storm rule. Read from the compiled calls, so a second path (a capability telling a notifier itself, or resolving one
/// at run time to get round a constructor cycle) fails here instead of skipping those rules.
/// </summary>
public sealed class NotificationPathTests(ITestOutputHelper output)
{
    /// <summary>The folders news about incidents comes from or passes through.</summary>
    private static readonly string[] NewsFolders = ["Incidents", "Approvals", "Remediation", "Prevention"];

    /// <summary>Holding a service provider, or calling GetService/GetRequiredService/GetServices on one.</summary>
    private static readonly HashSet<string> LookupTypes = new(StringComparer.Ordinal)
    {
        typeof(IServiceProvider).FullName!,
        "Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions",
        "Microsoft.Extensions.DependencyInjection.ServiceProviderKeyedServiceExtensions",
        "Microsoft.Extensions.DependencyInjection.ActivatorUtilities",
    };

    [Fact]
    public void Only_the_engines_dispatch_tells_the_incident_notifiers()
    {
        var callers = ServiceArchitecture.Types.Types
            .SelectMany(type => type.Dependencies.OfType<MethodCallDependency>()
                .Where(call => call.TargetMember.DeclaringType.FullName == typeof(IIncidentNotifier).FullName
                               && call.TargetMember.Name.StartsWith(nameof(IIncidentNotifier.IncidentChangedAsync) + "(", StringComparison.Ordinal))
                .Select(_ => ServiceArchitecture.Outer(type)))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        callers.ForEach(output.WriteLine);
        Assert.Equal(["ChatOpsPull.Incidents.Engine.IncidentNewsDispatch"], callers);
    }

    [Fact]
    public void No_type_on_the_news_path_looks_services_up_at_run_time()
    {
        var lookups = ServiceArchitecture.Types.Types
            .Where(type => NewsFolders.Any(folder => type.Namespace.FullName == "ChatOpsPull." + folder || type.Namespace.FullName.StartsWith("ChatOpsPull." + folder + ".", StringComparison.Ordinal)))
            .Where(type => type.Dependencies.Any(d => LookupTypes.Contains(d.Target.FullName)))
            .Select(ServiceArchitecture.Outer)
            .Except(Registrations())
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        lookups.ForEach(output.WriteLine);
        Assert.Empty(lookups);
    }

    /// <summary>Registration code (it extends <c>IServiceCollection</c>): building services is what it is for.</summary>
    private static HashSet<string> Registrations() => ServiceArchitecture.Types.Types
        .Where(type => type.Dependencies.Any(d => d.Target.FullName == "Microsoft.Extensions.DependencyInjection.IServiceCollection"))
        .Select(ServiceArchitecture.Outer)
        .ToHashSet(StringComparer.Ordinal);
}
