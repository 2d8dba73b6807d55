using ChatOpsPull.Prevention;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Admission;

public static class AdmissionServices
{
    /// <summary>
    /// The admission webhook's HTTPS side: its certificate (self-managed or from files) and the service that keeps it, the
    /// certificate chosen per TLS handshake for every https address in Urls, and the check at start that Urls has an https
    /// address on Admission:Port when the webhook is on. Needs AddPrevention (the check itself) and AddKubernetes.
    /// </summary>
    public static IServiceCollection AddAdmission(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<AdmissionCertificate>();
        services.AddSingleton<AdmissionCertificateService>();
        services.AddHostedService(sp => sp.GetRequiredService<AdmissionCertificateService>());
        services.AddSingleton<IValidateOptions<AdmissionOptions>>(new AdmissionAddressValidation(configuration));
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<AdmissionOptions>, AdmissionCertificate>((kestrel, admission, certificate) =>
        {
            if (admission.Value.Enabled)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificateSelector = (_, _) => certificate.Current);
            }
        });
        return services;
    }

    /// <summary>With the webhook on, Urls must hold an https address on Admission:Port (Kestrel serves only what Urls lists).</summary>
    private sealed class AdmissionAddressValidation(IConfiguration configuration) : IValidateOptions<AdmissionOptions>
    {
        public ValidateOptionsResult Validate(string? name, AdmissionOptions options)
        {
            if (!options.Enabled)
            {
                return ValidateOptionsResult.Success;
            }

            var urls = (configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var served = urls.Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && u.TrimEnd('/').EndsWith(":" + options.Port, StringComparison.Ordinal));
            return served
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"Admission:Enabled needs an https address on Admission:Port in Urls, e.g. \"http://0.0.0.0:8080;https://0.0.0.0:{options.Port}\" (Urls is \"{configuration["urls"]}\").");
        }
    }
}
