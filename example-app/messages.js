// The SMS texts in four languages, chosen by the package from x-request-language /
// accept-language. Auth0-style Liquid: the same variables as Auth0's SMS template.
'use strict';
module.exports = {
  template: '{{ application.name }}: your verification code is {{ code }}. It expires in 3 minutes.',
  templates: {
    en: '{{ application.name }}: your verification code is {{ code }}. It expires in 3 minutes.',
    fr: '{{ application.name }} : votre code de vérification est {{ code }}. Il expire dans 3 minutes.',
    nl: '{{ application.name }}: uw verificatiecode is {{ code }}. De code verloopt over 3 minuten.',
    es: '{{ application.name }}: tu código es {{ code }}. Caduca en 3 minutos.',
  },
};
