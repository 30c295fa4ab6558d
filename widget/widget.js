/*! Coalition Hub action widget. AGPL-3.0-or-later. No framework, no build step.
 * Embed: <script src="{HUB}/widget.js" data-page="{id or name}" async></script>
 * Renders in a Shadow DOM root inside <div data-coalition-widget> (else after the script).
 * Talks only to the hub it was loaded from; sets no cookies; puts no personal data in events. */
(() => {
  'use strict';
  const D = document, W = window, LOC = W.location;

  // --- strings: one "|"-joined table per language, in KEYS order ---------------------------
  const KEYS = ('heading intro loading firstName lastName email phone country postcode comment ' +
    'optional choose sign sending optIn leadOptIn privacy remember count_one count_other ' +
    'count_few count_many goal closed thanks shareAsk shareText copy copied more ' +
    'mastodonServer share doi confirmed expired required invalidEmail invalid tooLong ' +
    'fixErrors network rateLimited notFound badConfig test newTab').split(' ');
  const TABLES = {
    en: '||Loading the petition…|First name|Last name|Email|Phone|Country|Postcode|Comment|(optional)|Choose…|Sign the petition|Sending…|Yes, {org} may email me about this and related campaigns.|Yes, {lead}, who leads this coalition, may email me too.|Privacy policy|Remember that I signed (this browser tab only)|{n} person has signed.|{n} people have signed.|||Help us reach {goal}!|This petition has closed.|Thank you for signing!|Now ask your friends to sign too:|I just signed “{title}”. Will you join me?|Copy link|Link copied.|More options…|Your Mastodon server (for example mastodon.social)|Share|Almost done: check your inbox and click the link in our email to confirm your signature.|Your signature is confirmed. Thank you!|This confirmation link is no longer valid.|Please fill in this field.|Please enter a valid email address.|Please check this field.|This is too long.|Please correct the fields marked below.|We could not reach the server. Please try again.|Too many attempts. Please wait a minute and try again.|This petition could not be found, or it is not open yet.|This petition cannot be shown because its settings are invalid.|Test mode: signatures are marked as tests.|(opens in a new tab)',
    fr: '||Chargement de la pétition…|Prénom|Nom|E-mail|Téléphone|Pays|Code postal|Commentaire|(facultatif)|Choisir…|Signer la pétition|Envoi…|Oui, {org} peut m’écrire au sujet de cette campagne et de campagnes proches.|Oui, {lead}, qui coordonne cette coalition, peut aussi m’écrire.|Politique de confidentialité|Se souvenir de ma signature (dans cet onglet seulement)|{n} personne a signé.|{n} personnes ont signé.||{n} de personnes ont signé.|Aidez-nous à atteindre {goal} !|Cette pétition est close.|Merci pour votre signature !|Demandez maintenant à vos proches de signer :|Je viens de signer « {title} ». Vous me rejoignez ?|Copier le lien|Lien copié.|Plus d’options…|Votre serveur Mastodon (par exemple mastodon.social)|Partager|Presque fini : cliquez sur le lien de l’e-mail que nous venons d’envoyer pour confirmer votre signature.|Votre signature est confirmée. Merci !|Ce lien de confirmation n’est plus valide.|Veuillez remplir ce champ.|Veuillez saisir une adresse e-mail valide.|Veuillez vérifier ce champ.|Ce texte est trop long.|Veuillez corriger les champs signalés ci-dessous.|Impossible de joindre le serveur. Veuillez réessayer.|Trop de tentatives. Attendez une minute puis réessayez.|Cette pétition est introuvable ou n’est pas encore ouverte.|Cette pétition ne peut pas s’afficher : ses réglages sont invalides.|Mode test : les signatures sont marquées comme tests.|(s’ouvre dans un nouvel onglet)',
    de: '||Petition wird geladen…|Vorname|Nachname|E-Mail|Telefon|Land|Postleitzahl|Kommentar|(optional)|Bitte wählen…|Petition unterschreiben|Wird gesendet…|Ja, {org} darf mir zu dieser und ähnlichen Kampagnen E-Mails schicken.|Ja, auch {lead}, die dieses Bündnis leitet, darf mir schreiben.|Datenschutzerklärung|An meine Unterschrift erinnern (nur in diesem Tab)|{n} Person hat unterschrieben.|{n} Personen haben unterschrieben.|||Hilf uns, {goal} zu erreichen!|Diese Petition ist beendet.|Danke für deine Unterschrift!|Bitte jetzt auch deine Freundinnen und Freunde um ihre Unterschrift:|Ich habe gerade „{title}“ unterschrieben. Machst du mit?|Link kopieren|Link kopiert.|Weitere Optionen…|Dein Mastodon-Server (zum Beispiel mastodon.social)|Teilen|Fast geschafft: Bitte klicke auf den Link in unserer E-Mail, um deine Unterschrift zu bestätigen.|Deine Unterschrift ist bestätigt. Danke!|Dieser Bestätigungslink ist nicht mehr gültig.|Bitte fülle dieses Feld aus.|Bitte gib eine gültige E-Mail-Adresse ein.|Bitte überprüfe dieses Feld.|Dieser Text ist zu lang.|Bitte korrigiere die markierten Felder.|Der Server ist nicht erreichbar. Bitte versuche es erneut.|Zu viele Versuche. Bitte warte eine Minute.|Diese Petition wurde nicht gefunden oder ist noch nicht geöffnet.|Diese Petition kann nicht angezeigt werden, weil ihre Einstellungen ungültig sind.|Testmodus: Unterschriften werden als Test markiert.|(öffnet in neuem Tab)',
    es: '||Cargando la petición…|Nombre|Apellidos|Correo electrónico|Teléfono|País|Código postal|Comentario|(opcional)|Elige…|Firmar la petición|Enviando…|Sí, {org} puede escribirme sobre esta campaña y otras relacionadas.|Sí, {lead}, que coordina esta coalición, también puede escribirme.|Política de privacidad|Recordar que he firmado (solo en esta pestaña)|{n} persona ha firmado.|{n} personas han firmado.||{n} de personas han firmado.|¡Ayúdanos a llegar a {goal}!|Esta petición está cerrada.|¡Gracias por firmar!|Ahora pide a tus amistades que firmen también:|Acabo de firmar «{title}». ¿Te unes?|Copiar enlace|Enlace copiado.|Más opciones…|Tu servidor de Mastodon (por ejemplo mastodon.social)|Compartir|Casi listo: pulsa el enlace del correo que te hemos enviado para confirmar tu firma.|Tu firma está confirmada. ¡Gracias!|Este enlace de confirmación ya no es válido.|Rellena este campo.|Introduce un correo electrónico válido.|Revisa este campo.|El texto es demasiado largo.|Corrige los campos señalados.|No se pudo conectar con el servidor. Inténtalo de nuevo.|Demasiados intentos. Espera un minuto y vuelve a intentarlo.|No se encontró esta petición o aún no está abierta.|Esta petición no se puede mostrar porque su configuración no es válida.|Modo de prueba: las firmas se marcan como pruebas.|(se abre en una pestaña nueva)',
    it: '||Caricamento della petizione…|Nome|Cognome|Email|Telefono|Paese|CAP|Commento|(facoltativo)|Scegli…|Firma la petizione|Invio in corso…|Sì, {org} può scrivermi su questa campagna e su campagne simili.|Sì, anche {lead}, che coordina questa coalizione, può scrivermi.|Informativa sulla privacy|Ricorda che ho firmato (solo in questa scheda)|{n} persona ha firmato.|{n} persone hanno firmato.||{n} di persone hanno firmato.|Aiutaci a raggiungere {goal}!|Questa petizione è chiusa.|Grazie per aver firmato!|Ora chiedi ai tuoi amici di firmare:|Ho appena firmato «{title}». Ti unisci a me?|Copia link|Link copiato.|Altre opzioni…|Il tuo server Mastodon (ad esempio mastodon.social)|Condividi|Quasi fatto: clicca sul link nell’email che ti abbiamo inviato per confermare la firma.|La tua firma è confermata. Grazie!|Questo link di conferma non è più valido.|Compila questo campo.|Inserisci un indirizzo email valido.|Controlla questo campo.|Il testo è troppo lungo.|Correggi i campi indicati.|Impossibile raggiungere il server. Riprova.|Troppi tentativi. Attendi un minuto e riprova.|Petizione non trovata o non ancora aperta.|Questa petizione non può essere mostrata: le impostazioni non sono valide.|Modalità test: le firme sono segnate come test.|(si apre in una nuova scheda)',
    nl: '||Petitie wordt geladen…|Voornaam|Achternaam|E-mail|Telefoon|Land|Postcode|Opmerking|(optioneel)|Kies…|Teken de petitie|Bezig met verzenden…|Ja, {org} mag me mailen over deze en verwante campagnes.|Ja, ook {lead}, die deze coalitie leidt, mag me mailen.|Privacybeleid|Onthoud dat ik getekend heb (alleen in dit tabblad)|{n} persoon heeft getekend.|{n} mensen hebben getekend.|||Help ons {goal} te halen!|Deze petitie is gesloten.|Bedankt voor je handtekening!|Vraag nu je vrienden om ook te tekenen:|Ik heb net ‘{title}’ getekend. Doe je mee?|Link kopiëren|Link gekopieerd.|Meer opties…|Je Mastodon-server (bijvoorbeeld mastodon.social)|Delen|Bijna klaar: klik op de link in onze e-mail om je handtekening te bevestigen.|Je handtekening is bevestigd. Bedankt!|Deze bevestigingslink is niet meer geldig.|Vul dit veld in.|Vul een geldig e-mailadres in.|Controleer dit veld.|Deze tekst is te lang.|Verbeter de gemarkeerde velden.|De server is niet bereikbaar. Probeer het opnieuw.|Te veel pogingen. Wacht een minuut en probeer het opnieuw.|Deze petitie bestaat niet of is nog niet open.|Deze petitie kan niet worden getoond omdat de instellingen ongeldig zijn.|Testmodus: handtekeningen worden als test gemarkeerd.|(opent in een nieuw tabblad)',
    pl: '||Wczytywanie petycji…|Imię|Nazwisko|E-mail|Telefon|Kraj|Kod pocztowy|Komentarz|(opcjonalnie)|Wybierz…|Podpisz petycję|Wysyłanie…|Tak, {org} może do mnie pisać w sprawie tej i podobnych kampanii.|Tak, {lead}, koordynator tej koalicji, również może do mnie pisać.|Polityka prywatności|Zapamiętaj mój podpis (tylko w tej karcie)|{n} osoba podpisała.|{n} osoby podpisały.|{n} osoby podpisały.|{n} osób podpisało.|Pomóż nam osiągnąć {goal}!|Ta petycja jest zamknięta.|Dziękujemy za podpis!|Teraz poproś znajomych o podpis:|Podpisałem/am petycję „{title}”. Dołączysz?|Kopiuj link|Link skopiowany.|Więcej opcji…|Twój serwer Mastodon (na przykład mastodon.social)|Udostępnij|Prawie gotowe: kliknij link w naszym e-mailu, aby potwierdzić podpis.|Twój podpis został potwierdzony. Dziękujemy!|Ten link potwierdzający jest już nieważny.|Wypełnij to pole.|Podaj poprawny adres e-mail.|Sprawdź to pole.|Ten tekst jest za długi.|Popraw zaznaczone pola.|Nie udało się połączyć z serwerem. Spróbuj ponownie.|Zbyt wiele prób. Odczekaj minutę i spróbuj ponownie.|Nie znaleziono petycji lub nie jest jeszcze otwarta.|Nie można wyświetlić tej petycji, bo jej ustawienia są nieprawidłowe.|Tryb testowy: podpisy są oznaczane jako testowe.|(otwiera się w nowej karcie)',
    pt: '||A carregar a petição…|Nome|Apelido|Email|Telefone|País|Código postal|Comentário|(opcional)|Escolha…|Assinar a petição|A enviar…|Sim, {org} pode enviar-me emails sobre esta e outras campanhas relacionadas.|Sim, {lead}, que coordena esta coligação, também me pode enviar emails.|Política de privacidade|Lembrar que assinei (só neste separador)|{n} pessoa assinou.|{n} pessoas assinaram.||{n} de pessoas assinaram.|Ajude-nos a chegar a {goal}!|Esta petição está encerrada.|Obrigado por assinar!|Agora peça aos seus amigos que assinem também:|Acabei de assinar «{title}». Junta-se a mim?|Copiar link|Link copiado.|Mais opções…|O seu servidor Mastodon (por exemplo mastodon.social)|Partilhar|Quase pronto: clique no link do email que enviámos para confirmar a sua assinatura.|A sua assinatura está confirmada. Obrigado!|Este link de confirmação já não é válido.|Preencha este campo.|Introduza um endereço de email válido.|Verifique este campo.|O texto é demasiado longo.|Corrija os campos assinalados.|Não foi possível contactar o servidor. Tente novamente.|Demasiadas tentativas. Aguarde um minuto e tente novamente.|Petição não encontrada ou ainda não aberta.|Esta petição não pode ser mostrada porque a configuração é inválida.|Modo de teste: as assinaturas são marcadas como teste.|(abre num novo separador)'
  };
  const table = (lang) => {
    const s = {}, v = (TABLES[lang] || '').split('|');
    KEYS.forEach((k, i) => { if (v[i]) s[k] = v[i]; });
    return s;
  };
  const RTL = /^(ar|he|fa|ur|yi|ps|dv|ckb|sd|ug)$/;

  // --- form fields: [name, autocomplete, type, default mode] --------------------------------
  const FIELDS = [
    ['firstName', 'given-name', 'text', 'required'], ['lastName', 'family-name', 'text', 'optional'],
    ['email', 'email', 'email', 'required'], ['phone', 'tel', 'tel', 'hidden'],
    ['country', 'country', 'select', 'optional'], ['postcode', 'postal-code', 'text', 'optional'],
    ['comment', 'off', 'textarea', 'hidden']
  ];
  const COUNTRIES = 'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'.split(' ');
  const MODES = ['required', 'optional', 'hidden'];
  const CUSTOM_TYPES = ['text', 'textarea', 'checkbox', 'select', 'number', 'email', 'url'];

  // --- sharing ---------------------------------------------------------------------------------
  // {u} url, {t} text, {tu} text + url, {s} subject (all URI-encoded)
  const NETS = {
    whatsapp: ['WhatsApp', 'https://wa.me/?text={tu}'],
    facebook: ['Facebook', 'https://www.facebook.com/sharer/sharer.php?u={u}'],
    bluesky: ['Bluesky', 'https://bsky.app/intent/compose?text={tu}'],
    telegram: ['Telegram', 'https://t.me/share/url?url={u}&text={t}'],
    linkedin: ['LinkedIn', 'https://www.linkedin.com/sharing/share-offsite/?url={u}'],
    x: ['X', 'https://x.com/intent/post?text={t}&url={u}'],
    mastodon: ['Mastodon', 'https://{host}/share?text={tu}'],
    email: [0, 'mailto:?subject={s}&body={tu}'],
    copy: [0], native: [0]
  };
  const NET_NAMES = Object.keys(NETS);

  // --- GraphQL operations (the public, Proca-compatible API) ---------------------------------
  const Q_PAGE = 'query($id:Int,$name:String){actionPage(id:$id,name:$name){id name locale status config doubleOptIn org{name title privacyPolicyUrl} campaign{name title goal leadOrg{name title privacyPolicyUrl} consent{version optInText leadOptInText} stats{supporterCount}}}}';
  const M_SIGN = 'mutation($p:Int!,$a:ActionInput!,$c:ContactInput!,$v:ConsentInput!,$t:TrackingInput){addActionContact(actionPageId:$p,action:$a,contact:$c,privacy:$v,tracking:$t){contactRef referralCode mailto}}';
  // The Email step (actionType mail2target): its settings, wording and the targets (never
  // their addresses), by postcode when the campaign assigns targets that way.
  const Q_MTT = 'query($id:Int,$pc:String){actionPage(id:$id){campaign{mailToTarget{mode editable askReplyTo selection subject body texts} targets(postcode:$pc){id name area}}}}';
  const M_ACT = 'mutation($p:Int!,$a:ActionInput!,$r:ID!,$t:TrackingInput){addAction(actionPageId:$p,action:$a,contactRef:$r,tracking:$t){contactRef}}';
  const CODE_TEXT = {
    REQUIRED: 'required', INVALID_EMAIL: 'invalidEmail', TOO_LONG: 'tooLong', TOO_LARGE: 'tooLong',
    INVALID_COUNTRY: 'invalid', INVALID_POSTCODE: 'invalid', INVALID_PHONE: 'invalid',
    RATE_LIMITED: 'rateLimited', PAGE_CLOSED: 'closed', PAGE_NOT_FOUND: 'notFound', UNKNOWN_TARGET: 'invalid'
  };

  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isStr = (v) => typeof v === 'string';
  const enc = encodeURIComponent;
  const isHttp = (u) => isStr(u) && /^https?:\/\/\S+$/i.test(u);
  const fill = (s, vars) => String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
  const store = (() => { try { return W.sessionStorage; } catch (e) { return null; } })();
  const load = (k) => { try { return JSON.parse(store.getItem(k)); } catch (e) { return null; } };
  const save = (k, v) => { try { store.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode */ } };
  const params = new URLSearchParams(LOC.search);
  const TESTING = params.get('coalition_test') === '1';

  /** Element factory: h('p', {class: 'x', onclick: fn}, 'text', child). */
  function h(tag, attrs, ...kids) {
    const el = D.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k in el && !k.includes('-') && k !== 'list' && k !== 'form') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat()) if (c != null && c !== false) el.append(c);
    return el;
  }

  /** First-touch tracking for the browsing session; the referrer host when there is no UTM. */
  function tracking() {
    let t = load('coalition:touch');
    if (!isObj(t)) {
      t = {};
      for (const k of ['source', 'medium', 'campaign', 'content']) {
        const v = params.get('utm_' + k) || params.get('mtm_' + k);
        if (v) t[k] = v.slice(0, 255);
      }
      if (!t.source && D.referrer) {
        try {
          const host = new URL(D.referrer).hostname;
          if (host && host !== LOC.hostname) t.source = host;
        } catch (e) { /* opaque referrer */ }
      }
    }
    const ref = params.get('coalition_ref');
    if (ref && !t.referralCode) t.referralCode = ref.slice(0, 64);
    save('coalition:touch', t);
    return Object.assign({}, t, { location: LOC.origin + LOC.pathname });
  }

  /** Structural check of a page config (the hub validates against config.schema.json; this
   * keeps a config that slipped through from breaking the widget). Returns the bad path. */
  function checkConfig(c) {
    if (!isObj(c)) return 'config';
    const known = ['fields', 'customFields', 'theme', 'counter', 'share', 'consent', 'redirectUrl',
      'text', 'rememberMe', 'defaultCountry', 'actionType', 'heading', 'altcha', 'proca'];
    for (const k in c) if (!known.includes(k)) return k;
    const f = c.fields;
    if (f != null) {
      if (!isObj(f)) return 'fields';
      for (const k in f) {
        if (!FIELDS.some((x) => x[0] === k) || !MODES.includes(f[k])) return 'fields.' + k;
      }
      if (f.email === 'hidden') return 'fields.email';
    }
    const cf = c.customFields;
    if (cf != null) {
      if (!Array.isArray(cf)) return 'customFields';
      for (let i = 0; i < cf.length; i++) {
        const x = cf[i];
        if (!isObj(x) || !/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/.test(x.name) ||
          (x.type != null && !CUSTOM_TYPES.includes(x.type)) ||
          (x.options != null && !Array.isArray(x.options))) return 'customFields.' + i;
      }
    }
    const t = c.theme;
    if (t != null) {
      if (!isObj(t)) return 'theme';
      for (const k of ['primary', 'primaryText']) {
        if (t[k] != null && !/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(t[k])) return 'theme.' + k;
      }
      if (t.mode != null && !['light', 'dark', 'auto'].includes(t.mode)) return 'theme.mode';
      if (t.radius != null && !/^\d{1,2}(\.\d+)?(px|em|rem)$/.test(t.radius)) return 'theme.radius';
      if (t.font != null && !/^[\w\s,'"-]{1,200}$/.test(t.font)) return 'theme.font';
    }
    for (const k of ['counter', 'share', 'consent', 'text']) if (c[k] != null && !isObj(c[k])) return k;
    if (c.share && c.share.networks != null && (!Array.isArray(c.share.networks) ||
      c.share.networks.some((n) => !NET_NAMES.includes(n)))) return 'share.networks';
    if (c.counter && c.counter.min != null && !(c.counter.min >= 0)) return 'counter.min';
    if (c.redirectUrl != null && !isHttp(c.redirectUrl)) return 'redirectUrl';
    if (c.share && c.share.url != null && !isHttp(c.share.url)) return 'share.url';
    if (c.text) for (const l in c.text) if (!isObj(c.text[l])) return 'text.' + l;
    return null;
  }

  /** Relative luminance contrast helper: black or white text on a background colour. */
  function textOn(hex) {
    let x = hex.slice(1);
    if (x.length === 3) x = x.replace(/./g, '$&$&');
    const lum = [0, 2, 4].map((i) => {
      const c = parseInt(x.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#111111' : '#ffffff';
  }

  function css(theme) {
    const t = theme || {};
    const pal = (dark) => {
      const p = t.primary || (dark ? '#93c5fd' : '#1d4ed8');
      const v = {
        p, pt: t.primaryText || (t.primary ? textOn(t.primary) : dark ? '#111827' : '#ffffff'),
        bg: dark ? '#111827' : '#ffffff', fg: dark ? '#f3f4f6' : '#1f2937',
        mut: dark ? '#d1d5db' : '#4b5563', bd: dark ? '#9ca3af' : '#6b7280',
        err: dark ? '#fca5a5' : '#b91c1c', nb: dark ? '#1f2937' : '#eff6ff'
      };
      const names = { p: 'primary', pt: 'primary-text', bg: 'bg', fg: 'fg', mut: 'muted', bd: 'border', err: 'error', nb: 'notice-bg' };
      return Object.keys(v).map((k) => `--${k}:var(--coalition-${names[k]},${v[k]});`).join('') +
        `color-scheme:${dark ? 'dark' : 'light'};`;
    };
    const mode = t.mode || 'light';
    const font = t.font && t.font !== 'inherit' ? t.font : 'inherit';
    return `:host{all:initial!important;display:block!important;font-family:inherit!important;` +
      `max-width:var(--coalition-max-width,36rem)!important;margin:var(--coalition-margin,1em 0)!important}` +
      `*{box-sizing:border-box}[hidden]{display:none!important}` +
      `.w{${pal(mode === 'dark')}--r:var(--coalition-radius,${t.radius || '6px'});` +
      `font-family:var(--coalition-font,${font});font-size:var(--coalition-font-size,16px);line-height:1.5;` +
      `color:var(--fg);background:var(--bg);border:1px solid var(--bd);border-radius:var(--r);padding:1.25em;text-align:start}` +
      (mode === 'auto' ? `@media (prefers-color-scheme:dark){.w{${pal(true)}}}` : '') +
      `h2{font-size:1.35em;line-height:1.25;margin:0 0 .5em}h3{font-size:1.15em;margin:0 0 .5em}h2:focus,h3:focus{outline:none}` +
      `p{margin:0 0 .75em}a{color:inherit;text-decoration:underline}` +
      `.f{display:flex;flex-wrap:wrap;gap:.9em}.f>*{flex:1 1 100%}.f>.half{flex:1 1 12em}` +
      `label{display:block;font-weight:600;margin:0 0 .25em}.opt{font-weight:400;color:var(--mut)}` +
      `input,select,textarea{display:block;width:100%;font:inherit;color:var(--fg);background:var(--bg);` +
      `border:1px solid var(--bd);border-radius:calc(var(--r)*.6);padding:.5em .7em;min-height:2.75em;margin:0}` +
      `textarea{min-height:5em;resize:vertical}` +
      `.ck{display:flex;gap:.6em;align-items:flex-start}.ck input{width:1.3em;height:1.3em;min-height:0;flex:none;margin:.15em 0 0;accent-color:var(--p)}` +
      `.ck label{display:inline;font-weight:400;margin:0}[aria-invalid=true]{border:2px solid var(--err)}` +
      `.e{color:var(--err);font-size:.92em;font-weight:600;margin:.3em 0 0}.e:empty,.alert:empty{display:none}` +
      `.alert{color:var(--err);font-weight:600;margin:0}` +
      `button,.b{display:inline-flex;align-items:center;justify-content:center;font:inherit;font-weight:600;cursor:pointer;` +
      `border-radius:var(--r);padding:.5em 1em;min-height:2.75em;text-decoration:none;border:2px solid var(--p);background:var(--bg);color:var(--fg);margin:0}` +
      `.go{background:var(--p);color:var(--pt);width:100%;font-size:1.1em}[aria-disabled=true]{opacity:.75;cursor:progress}` +
      `:focus-visible{outline:3px solid var(--fg);outline-offset:2px}` +
      `.n{font-weight:600;margin:0 0 .3em}.bar{height:.7em;background:var(--nb);border:1px solid var(--bd);border-radius:1em;overflow:hidden;margin:0 0 1em}` +
      `.bar>span{display:block;height:100%;background:var(--p);transition:width .6s}` +
      `.note{background:var(--nb);border-inline-start:4px solid var(--p);padding:.75em 1em;border-radius:calc(var(--r)*.6)}` +
      `.sh{list-style:none;margin:0 0 1em;padding:0;display:flex;flex-wrap:wrap;gap:.5em}` +
      `.row{display:flex;gap:.5em;align-items:flex-end;margin:0 0 1em}.row>div{flex:1}` +
      `.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}` +
      `.test{border:2px dashed var(--err);padding:.25em .5em;font-size:.9em}` +
      `fieldset{border:0;padding:0;margin:0;min-width:0}legend{font-weight:600;padding:0;margin:0 0 .25em}` +
      `.tl{display:grid;gap:.4em}[readonly]{background:var(--nb)}` +
      `@media (prefers-reduced-motion:reduce){.bar>span{transition:none}}`;
  }

  /** Where the widget renders: the matching placeholder, else a new element after the script. */
  function hostFor(script, page) {
    for (const el of D.querySelectorAll('[data-coalition-widget]')) {
      const want = el.getAttribute('data-coalition-widget');
      if (!el.shadowRoot && (want === page || want === '')) return el;
    }
    const el = D.createElement('div');
    el.setAttribute('data-coalition-widget', page);
    script.after(el);
    return el;
  }

  function boot(script) {
    script.setAttribute('data-coalition-done', '');
    const page = String(script.dataset.page || '').trim();
    const hub = new URL(script.src, LOC.href).href.replace(/\/widget(\.[\w-]+)?\.js(\?.*)?$/, '');
    const host = hostFor(script, page);
    const root = host.attachShadow({ mode: 'open' });
    let S = table('en');
    let lang = 'en', P = null, cfg = {}, count = 0, ref = null, busy = false, M = null;
    let counterBox = null;
    const controls = {};
    const wrap = h('div', { class: 'w', part: 'widget', 'aria-busy': 'true' }, h('p', null, S.loading));
    let styleEl = null;
    // Constructed sheets are not blocked by a host page's CSP on inline styles.
    const sheet = (text) => {
      try {
        const s = new CSSStyleSheet();
        s.replaceSync(text);
        root.adoptedStyleSheets = [s];
      } catch (e) {
        styleEl = styleEl || root.appendChild(h('style'));
        styleEl.textContent = text;
      }
    };
    sheet(css());
    root.append(wrap);

    const emit = (name, detail) => host.dispatchEvent(new CustomEvent('coalition:' + name, {
      bubbles: true, detail: Object.assign({ page: P ? P.id : page }, detail)
    }));

    async function gql(query, variables, get, extra) {
      const url = hub + '/graphql';
      const r = get
        ? await fetch(url + '?query=' + enc(query) + '&variables=' + enc(JSON.stringify(variables)),
          { credentials: 'omit', headers: { accept: 'application/json' } })
        : await fetch(url, {
          method: 'POST', credentials: 'omit',
          headers: Object.assign({ 'content-type': 'application/json', accept: 'application/json' }, extra),
          body: JSON.stringify({ query, variables })
        });
      const body = await r.json();
      if (!isObj(body)) throw new Error('HTTP ' + r.status);
      return body;
    }

    const show = (...kids) => {
      wrap.replaceChildren(...kids.flat().filter((k) => k != null && k !== false));
      wrap.removeAttribute('aria-busy');
    };
    const message = (text, detail) => show(h('p', { class: 'note', role: 'alert' }, text, detail ? h('br') : null, detail || null));

    /** Text for a key: page config override for the exact locale, then the language, then built-in. */
    function strings(locale) {
      const base = locale.split('-')[0];
      lang = TABLES[base] ? base : 'en';
      const over = cfg.text || {};
      S = Object.assign(table('en'), table(lang), M ? M.texts : {}, over[base] || {}, over[locale] || {});
    }
    const label = (v) => (isObj(v) ? v[lang] || v.en || Object.values(v)[0] || '' : v || '');

    function counter(closed) {
      const c = cfg.counter || {};
      const goal = c.goal || P.campaign.goal || 0;
      const box = counterBox || h('div', { class: 'counter' });
      counterBox = box;
      if (!closed && (c.show === false || count < (c.min || 0))) {
        box.hidden = true;
        return box;
      }
      box.hidden = false;
      const nf = new Intl.NumberFormat(lang);
      const form = new Intl.PluralRules(lang).select(count);
      let text = fill(S['count_' + form] || S.count_other, { n: nf.format(count) });
      if (goal && count < goal && !closed) text += ' ' + fill(S.goal, { goal: nf.format(goal) });
      const pct = goal ? Math.min(100, (count / goal) * 100) : 100;
      box.replaceChildren(h('p', { class: 'n' }, text), goal ? h('div', {
        class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(goal),
        'aria-valuenow': String(Math.min(count, goal)), 'aria-label': text
      }, h('span', { style: 'width:' + pct.toFixed(1) + '%' })) : null);
      return box;
    }

    async function refreshCount(atLeast) {
      try {
        const r = await gql(Q_PAGE, P.name ? { name: P.name } : { id: P.id });
        const n = r.data && r.data.actionPage && r.data.actionPage.campaign.stats.supporterCount;
        count = Math.max(typeof n === 'number' ? n : 0, atLeast);
      } catch (e) {
        count = Math.max(count, atLeast);
      }
      counter(false);
    }

    function heading() {
      const intro = S.intro;
      return [h('h2', null, S.heading || cfg.heading || P.campaign.title), intro ? h('p', null, intro) : null];
    }

    // --- the form ----------------------------------------------------------------------------
    function field(name, text, mode, control, half) {
      const id = 'c-' + name;
      const err = h('p', { class: 'e', id: id + '-e' });
      control.id = id;
      control.name = name;
      if (mode === 'required') control.required = true;
      control.setAttribute('aria-describedby', id + '-e');
      controls[name] = control;
      const lab = h('label', { for: id }, text, mode === 'optional' ? h('span', { class: 'opt' }, ' ' + S.optional) : null);
      if (control.type === 'checkbox') return h('div', { class: 'fl' }, h('div', { class: 'ck' }, control, lab), err);
      return h('div', { class: half ? 'half' : 'fl' }, lab, control, err);
    }

    function countrySelect() {
      let names = null;
      try { names = new Intl.DisplayNames([lang], { type: 'region' }); } catch (e) { /* old engine */ }
      const opts = COUNTRIES.map((c) => [c, names ? names.of(c) : c]).sort((a, b) => a[1].localeCompare(b[1], lang));
      // The page locale's own region, else the country of a national language; English says
      // nothing about where the supporter lives.
      const region = (P.locale.match(/[-_]([A-Z]{2})$/) || [])[1];
      const pre = cfg.defaultCountry || region || (lang !== 'en' && P.locale.startsWith(lang) ? lang.toUpperCase() : '');
      return h('select', { autocomplete: 'country' }, h('option', { value: '' }, S.choose),
        opts.map(([c, n]) => h('option', { value: c, selected: c === pre }, n)));
    }

    function customControl(x) {
      const type = x.type || 'text';
      if (type === 'textarea') return h('textarea', { maxLength: x.maxLength || 2000 });
      if (type === 'select') {
        return h('select', null, h('option', { value: '' }, S.choose),
          (x.options || []).map((o) => (isObj(o) ? h('option', { value: o.value }, label(o.label) || o.value) : h('option', { value: o }, o))));
      }
      return h('input', { type, maxLength: x.maxLength || 255, autocomplete: 'off' });
    }

    function setError(el, text) {
      const e = root.getElementById(el.id + '-e');
      if (e) e.textContent = text || '';
      if (text) el.setAttribute('aria-invalid', 'true');
      else el.removeAttribute('aria-invalid');
    }

    function validate(el) {
      const v = el.type === 'checkbox' ? el.checked : el.value.trim();
      let msg = '';
      if (el.required && !v) msg = S.required;
      else if (v && el.type === 'email' && (el.validity.typeMismatch || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v))) msg = S.invalidEmail;
      else if (v && (el.validity.typeMismatch || el.validity.badInput)) msg = S.invalid;
      else if (el.maxLength > 0 && v.length > el.maxLength) msg = S.tooLong;
      setError(el, msg);
      return !msg;
    }

    /** A checkbox with its label; the privacy link sits outside the label, so the box's
     * accessible name is the consent wording alone. */
    function box(name, text, privacy) {
      controls[name] = h('input', { type: 'checkbox', id: 'c-' + name, name });
      return h('div', { class: 'fl' }, h('div', { class: 'ck' }, controls[name], h('span', null,
        h('label', { for: 'c-' + name }, text), isHttp(privacy) ? [' ', h('a', { href: privacy, target: '_blank', rel: 'noopener noreferrer' },
          S.privacy, h('span', { class: 'sr' }, ' ' + S.newTab))] : null)));
    }

    /** Mail to target: the targets, subject and message first; after the contact fields,
     * what goes to the targets with the message (the name; the email only if ticked). */
    async function mttLoad(pc) {
      const r = await gql(Q_MTT, { id: P.id, pc: pc || null }, true);
      const c = r.data && r.data.actionPage && r.data.actionPage.campaign;
      if (!c || !c.mailToTarget) throw new Error('mtt');
      return c;
    }

    function mttSteps() {
      const sel = M.selection, list = h('div', { class: 'tl' });
      const draw = (ts, none) => list.replaceChildren(...ts.map((t, i) => h('div', { class: 'ck' },
        h('input', { type: 'checkbox', id: 'c-t' + i, value: t.id, checked: sel !== 'CHOOSE' || ts.length === 1 }),
        h('label', { for: 'c-t' + i }, t.name + (t.area ? ' (' + t.area + ')' : '')))),
        ...(none && !ts.length ? [h('p', null, S.mttNone)] : []));
      const head = [];
      if (sel === 'POSTCODE') {
        const pc = h('input', { type: 'text', autocomplete: 'postal-code', maxLength: 100 });
        let timer;
        pc.addEventListener('input', () => {
          clearTimeout(timer);
          timer = setTimeout(async () => {
            const v = pc.value.trim();
            try { draw(v ? (await mttLoad(v)).targets : [], !!v); } catch (e) { /* keep the list */ }
          }, 300);
        });
        head.push(field('postcode', S.postcode, 'required', pc));
      } else draw(M.targets, true);
      const edit = { readOnly: !M.editable };
      const subject = h('input', Object.assign({ type: 'text', maxLength: 200, value: M.subject || '' }, edit));
      const body = h('textarea', Object.assign({ maxLength: 10000, rows: 8 }, edit));
      body.value = M.body || '';
      head.push(h('fieldset', { id: 'c-targets', 'aria-describedby': 'c-targets-e' }, h('legend', null, S.mttTo), list,
        h('p', { class: 'e', id: 'c-targets-e' })), field('subject', S.mttSubject, 'required', subject),
      field('body', S.mttBody, 'required', body));
      const tail = [h('p', { class: 'opt' }, S.mttNotice)];
      if (M.askReplyTo) tail.push(box('replyTo', S.mttReply));
      if (M.mode === 'BOTH') tail.push(box('mailto', S.mttOwn));
      return [head, tail];
    }

    function formView(banner) {
      const fields = cfg.fields || {};
      const alert = h('p', { class: 'alert', role: 'alert', id: 'c--alert' });
      const [items, tail] = M ? mttSteps() : [[], []];
      for (const [name, auto, type, def] of FIELDS) {
        const mode = fields[name] || def;
        if (mode === 'hidden' || controls[name]) continue;
        const control = type === 'select' ? countrySelect()
          : type === 'textarea' ? h('textarea', { maxLength: 2000 })
            : h('input', { type, autocomplete: auto, maxLength: type === 'email' ? 254 : 100 });
        if (type === 'email') control.setAttribute('spellcheck', 'false');
        items.push(field(name, S[name], mode, control, name === 'firstName' || name === 'lastName' || name === 'country' || name === 'postcode'));
      }
      for (const x of cfg.customFields || []) {
        const c = customControl(x);
        items.push(field(x.name, label(x.label) || x.name, x.required ? 'required' : x.type === 'checkbox' ? '' : 'optional', c));
      }
      items.push(...tail);
      // Consent boxes are never pre-ticked; a box that is not shown sends null ("not asked").
      const consent = cfg.consent || {};
      const org = P.org, lead = P.campaign.leadOrg, texts = P.campaign.consent || {};
      const vars = { org: org.title, lead: lead.title };
      if (consent.optIn !== false) {
        items.push(box('optIn', fill(texts.optInText || S.optIn, vars), org.privacyPolicyUrl));
      }
      if (consent.leadOptIn !== false && lead.name !== org.name) {
        items.push(box('leadOptIn', fill(texts.leadOptInText || S.leadOptIn, vars), lead.privacyPolicyUrl));
      }
      if (cfg.rememberMe !== false && store) {
        items.push(box('remember', S.remember));
      }
      const button = h('button', { type: 'submit', class: 'go' }, S.sign);
      const form = h('form', { novalidate: true, 'aria-describedby': 'c--alert', onsubmit: (e) => submit(e, form, button, alert) },
        h('div', { class: 'f' }, items, h('div', null, button), alert));
      // An error appearing on blur moves the button down between press and release, and the
      // click is lost: when the blur comes from pressing the button, submit validates instead.
      let pressed = 0;
      button.addEventListener('pointerdown', () => { pressed = Date.now(); });
      form.addEventListener('focusout', (e) => {
        if (e.target.type !== 'checkbox' && e.target.value && Date.now() - pressed > 1000) validate(e.target);
      });
      form.addEventListener('input', (e) => { if (e.target.hasAttribute('aria-invalid')) validate(e.target); });
      show(...heading(), banner, TESTING ? h('p', { class: 'test' }, S.test) : null, counter(false), form);
    }

    async function submit(e, form, button, alert) {
      e.preventDefault();
      if (busy) return;
      alert.textContent = '';
      const bad = Object.values(controls).filter((el) => !validate(el));
      const picked = [...root.querySelectorAll('#c-targets input:checked')].map((el) => el.value);
      if (M) {
        root.getElementById('c-targets-e').textContent = picked.length ? '' : S.mttPick;
        if (!picked.length) bad.unshift(root.querySelector('#c-targets input') || controls.postcode || button);
      }
      if (bad.length) {
        alert.textContent = S.fixErrors;
        bad[0].focus();
        return;
      }
      const val = (n) => (controls[n] && controls[n].value.trim()) || undefined;
      const contact = { firstName: val('firstName'), lastName: val('lastName'), email: val('email'), phone: val('phone') };
      if (val('country') || val('postcode')) contact.address = { country: val('country'), postcode: val('postcode') };
      const custom = {};
      if (val('comment')) custom.comment = val('comment');
      for (const x of cfg.customFields || []) {
        const el = controls[x.name];
        const v = el.type === 'checkbox' ? el.checked : el.type === 'number' && el.value !== '' ? Number(el.value) : el.value.trim();
        if (v !== '' && v !== false) custom[x.name] = v;
      }
      const action = { actionType: cfg.actionType || 'signature', testing: TESTING || undefined };
      if (M) {
        action.mtt = { targets: picked };
        if (M.editable) Object.assign(action.mtt, { subject: val('subject'), body: val('body') });
        if (controls.replyTo && controls.replyTo.checked) custom.replyTo = true;
        if (controls.mailto && controls.mailto.checked) custom.medium = 'mailto';
      }
      if (Object.keys(custom).length) action.customFields = custom;
      const privacy = {
        optIn: controls.optIn ? controls.optIn.checked : null,
        leadOptIn: controls.leadOptIn ? controls.leadOptIn.checked : null,
        consentVersion: (P.campaign.consent || {}).version || null
      };
      busy = true;
      button.setAttribute('aria-disabled', 'true');
      button.textContent = S.sending;
      let r;
      try {
        const extra = cfg.altcha ? { 'x-altcha': await proofOfWork() } : undefined;
        r = await gql(M_SIGN, { p: P.id, a: action, c: contact, v: privacy, t: tracking() }, false, extra);
      } catch (err) {
        r = { errors: [{ message: S.network }] };
      }
      busy = false;
      button.removeAttribute('aria-disabled');
      button.textContent = S.sign;
      if (r.errors || !r.data) return serverErrors(r.errors || [], alert, button);
      const res = r.data.addActionContact;
      ref = { r: res.contactRef, c: res.referralCode };
      if (controls.remember && controls.remember.checked) save('coalition:signed:' + P.id, ref);
      // mailto: the signer's own mail app sends it (the link is never stored)
      ref.m = res.mailto;
      emit('signed', { actionType: action.actionType, doubleOptIn: !!P.doubleOptIn, testing: TESTING });
      if (cfg.redirectUrl) {
        LOC.assign(cfg.redirectUrl);
        return;
      }
      thanksView(true);
      refreshCount(count + 1);
      if (ref.m) try { LOC.assign(ref.m); } catch (err) { /* the link is on the page */ }
    }

    /** ALTCHA proof of work, when the page asks for it: the X-Altcha header value. */
    async function proofOfWork() {
      try {
        const c = await (await fetch(hub + '/altcha/challenge', { credentials: 'omit' })).json();
        const te = new TextEncoder();
        for (let n = 0; n <= c.maxnumber; n++) {
          const d = new Uint8Array(await crypto.subtle.digest('SHA-256', te.encode(c.salt + n)));
          if (Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('') === c.challenge) {
            return btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature }));
          }
        }
      } catch (e) { /* no solution: the hub keeps the signature for review */ }
      return '';
    }

    /** Server errors go under the field named by the last element of the error path. */
    function serverErrors(errors, alert, button) {
      let first = null;
      const general = [];
      for (const err of errors) {
        const path = err.path || [];
        const name = path.includes('mtt') && path.includes('targets') ? 'targets' : path[path.length - 1];
        const code = err.extensions && err.extensions.code;
        if (code === 'PAGE_CLOSED') return closedView();
        const text = (CODE_TEXT[code] && S[CODE_TEXT[code]]) || err.message || S.invalid;
        const el = isStr(name) && (controls[name] || (name === 'targets' && root.querySelector('#c-targets input')));
        if (name === 'targets') root.getElementById('c-targets-e').textContent = text;
        if (el) {
          setError(el, text);
          first = first || el;
        } else if (!general.includes(text)) general.push(text);
      }
      alert.textContent = general.length ? general.join(' ') : S.fixErrors;
      (first || button).focus();
    }

    // --- thank you and share -------------------------------------------------------------------
    function shareUrl(net) {
      const u = new URL((cfg.share && cfg.share.url) || LOC.href);
      for (const k of [...u.searchParams.keys()]) if (/^(utm_|mtm_|coalition_)/.test(k)) u.searchParams.delete(k);
      if (ref && ref.c) u.searchParams.set('coalition_ref', ref.c);
      u.searchParams.set('utm_source', 'share');
      u.searchParams.set('utm_medium', net);
      u.searchParams.set('utm_campaign', P.campaign.name);
      return u.href;
    }

    function shared(net) {
      emit('shared', { medium: net });
      if (!ref) return;
      gql(M_ACT, {
        p: P.id, a: { actionType: 'share', customFields: { medium: net }, testing: TESTING || undefined },
        r: ref.r, t: tracking()
      }).catch(() => { /* the share itself already happened */ });
    }

    function thanksView(focus, banner) {
      const sc = cfg.share || {};
      const title = P.campaign.title;
      const text = fill(label(sc.text) || S.shareText, { title });
      const status = h('p', { role: 'status', class: 'n' });
      const nets = sc.networks || NET_NAMES;
      const items = [];
      const mastodonRow = h('form', { class: 'row', hidden: true, onsubmit: (e) => {
        e.preventDefault();
        const input = mastodonRow.querySelector('input');
        const server = input.value.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
        if (!/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(server)) {
          setError(input, S.invalid);
          input.focus();
          return;
        }
        setError(input, '');
        const url = shareUrl('mastodon');
        W.open(fill(NETS.mastodon[1], { host: server, tu: enc(text + ' ' + url) }), '_blank', 'noopener');
        shared('mastodon');
      } }, h('div', null, h('label', { for: 'c-mastodon' }, S.mastodonServer),
        h('input', { id: 'c-mastodon', type: 'text', inputMode: 'url', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'c-mastodon-e' }),
        h('p', { class: 'e', id: 'c-mastodon-e' })), h('button', { type: 'submit' }, S.share));
      for (const net of nets) {
        const [name, tpl] = NETS[net];
        const url = shareUrl(net);
        let el;
        if (net === 'copy') {
          el = h('button', { type: 'button', onclick: async () => {
            try { await navigator.clipboard.writeText(url); } catch (e) { W.prompt(S.copy, url); }
            status.textContent = S.copied;
            shared('copy');
          } }, S.copy);
        } else if (net === 'native') {
          if (!navigator.share) continue;
          el = h('button', { type: 'button', onclick: () => navigator.share({ title, text, url }).then(() => shared('native'), () => {}) }, S.more);
        } else if (net === 'mastodon') {
          el = h('button', { type: 'button', 'aria-expanded': 'false', onclick: () => {
            mastodonRow.hidden = !mastodonRow.hidden;
            el.setAttribute('aria-expanded', String(!mastodonRow.hidden));
            if (!mastodonRow.hidden) mastodonRow.querySelector('input').focus();
          } }, name);
        } else {
          const href = fill(tpl, { u: enc(url), t: enc(text), tu: enc(text + ' ' + url), s: enc(title) });
          el = h('a', { class: 'b', href, target: net === 'email' ? null : '_blank', rel: 'noopener noreferrer', onclick: () => shared(net) },
            name || S.email, net === 'email' ? null : h('span', { class: 'sr' }, ' ' + S.newTab));
        }
        el.setAttribute('data-network', net);
        items.push(h('li', null, el));
      }
      const own = ref && ref.m;
      const head = h('h3', { tabindex: '-1' }, own ? S.mttSendOwn : S.thanks);
      show(h('h2', null, S.heading || cfg.heading || P.campaign.title), banner,
        TESTING ? h('p', { class: 'test' }, S.test) : null, counter(false), head,
        own ? h('p', null, h('a', { class: 'b go', href: own }, S.mttOpen)) : null,
        P.doubleOptIn ? h('p', { class: 'note doi' }, S.doi) : null,
        items.length ? [h('p', null, S.shareAsk), h('ul', { class: 'sh', 'aria-label': S.share }, items), mastodonRow] : null, status);
      if (focus) head.focus();
    }

    function closedView() {
      show(...heading(), h('p', { class: 'note closed', role: 'status' }, S.closed), counter(true));
    }

    async function start() {
      const byId = /^\d+$/.test(page);
      let r;
      try {
        r = await gql(Q_PAGE, byId ? { id: Number(page) } : { name: page }, true);
      } catch (e) {
        message(S.network);
        return emit('loaded', { status: 'unavailable' });
      }
      P = r.data && r.data.actionPage;
      if (!page || !P) {
        message(S.notFound);
        return emit('loaded', { status: 'unavailable' });
      }
      const bad = checkConfig(P.config);
      cfg = bad ? {} : P.config || {};
      const locale = String(P.locale || 'en').replace('_', '-');
      if (!bad && cfg.actionType === 'mail2target') {
        try {
          const c = await mttLoad();
          M = Object.assign(c.mailToTarget, { targets: c.targets });
        } catch (e) {
          message(S.network);
          return emit('loaded', { status: 'unavailable' });
        }
      }
      strings(locale);
      if (bad) {
        sheet(css());
        message(S.badConfig, '(' + bad + ')');
        return emit('loaded', { status: 'invalid' });
      }
      sheet(css(cfg.theme));
      wrap.lang = locale;
      wrap.dir = RTL.test(lang) || RTL.test(locale.split('-')[0]) ? 'rtl' : 'ltr';
      count = P.campaign.stats.supporterCount;
      const conf = params.get('coalition_confirmed');
      const banner = conf ? h('p', { class: 'note', role: 'status' }, conf === '1' ? S.confirmed : S.expired) : null;
      ref = load('coalition:signed:' + P.id);
      if (P.status === 'CLOSED') closedView();
      else if (isObj(ref) && ref.r) thanksView(false, banner);
      else {
        ref = null;
        formView(banner);
      }
      emit('loaded', { status: P.status.toLowerCase() });
    }
    start();
  }

  const current = D.currentScript;
  const scripts = current && current.dataset.page != null ? [current]
    : D.querySelectorAll('script[data-page]:not([data-coalition-done])');
  for (const s of scripts) if (!s.hasAttribute('data-coalition-done') && /\/widget(\.[\w-]+)?\.js/.test(s.src)) boot(s);
})();
