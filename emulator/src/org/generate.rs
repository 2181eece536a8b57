//! The default org's seed rows, generated: source individuals from two data
//! sources (a CRM and a website/WhatsApp channel), their email and phone
//! contact points, and the unified individuals and identity links that
//! identity resolution would produce from them.
//!
//! Output is a pure function of a fixed seed, so `dc-fixtures` rewrites the
//! committed `fixtures/default/rows/*.csv` byte for byte and a test checks
//! they never drift. Randomness is drawn only through `next_u64` of ChaCha8,
//! whose stream is fixed by its specification, never through `rand`'s
//! distribution helpers, whose algorithms may change between releases.

mod names;
pub mod phone;
mod tables;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::identity::Precision;
use super::ids;
use crate::identity::{fuzzy, normalize};
use names::{AREA_CODES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES};

/// Real people behind the sources (before duplicates and household merges).
const PEOPLE: usize = 1100;
/// Beyond this many people (benchmarks, never the committed fixtures), last
/// names are double-barrelled so that names still tell people apart, and
/// phone numbers come from the whole `555` exchange and `07700` block, as the
/// fictional `555-01xx` / `07700 900xxx` ranges hold only 4,000 numbers.
const LARGE_FROM: usize = 2000;
const SEED: [u8; 32] = *b"dc-emulator default org fixtures";
const CRM: (&str, &str, &str) = ("SalesforceCRM_Home", "Contact", "CRM");
const WEB: (&str, &str, &str) = ("Bridged_WhatsApp_Web", "LeadIdentity", "WEB");

/// Seeded draws.
struct Dice(ChaCha8Rng);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }
    fn alnum(&mut self, len: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..len)
            .map(|_| A[self.below(A.len() as u64) as usize] as char)
            .collect()
    }
}

/// Names given so far, so that no two people could match on the fuzzy first
/// name + exact last name rule: the fixture's unified individuals are then
/// the people the generator drew (plus households sharing a phone), and the
/// name rule only joins what a test adds. Checked at the loosest fuzzy
/// precision, so any precision in `identity.toml` stays safe.
///
/// A clash is settled without drawing again: the person takes the next free
/// last name of the list, so every other value drawn stays what it was (their
/// email keeps the drawn name, like someone who changed names).
#[derive(Default)]
struct NameBook {
    by_last: HashMap<String, Vec<String>>,
}

impl NameBook {
    fn settle(&mut self, first: &str, drawn: &str) -> String {
        let f = normalize::name(first);
        let start = LAST_NAMES.iter().position(|l| *l == drawn).unwrap_or(0);
        let rotated = (0..LAST_NAMES.len()).map(|k| LAST_NAMES[(start + k) % LAST_NAMES.len()]);
        let candidates = std::iter::once(drawn.to_owned())
            .chain(rotated.clone().map(str::to_owned))
            .chain(rotated.map(|l| format!("{drawn}-{l}")));
        for last in candidates {
            let taken = self.by_last.entry(last.to_lowercase()).or_default();
            if !taken.iter().any(|t| fuzzy::similar(t, &f, Precision::Low)) {
                taken.push(f);
                return last;
            }
        }
        drawn.to_owned()
    }
}

/// One source Individual record.
struct Source {
    id: String,
    origin: (&'static str, &'static str, &'static str),
    first: Option<String>,
    last: Option<String>,
    birth: Option<String>,
    income: Option<u64>,
    children: Option<u64>,
    opted_out: Option<bool>,
    email: Option<String>,
    phone: Option<String>,
    created: i64,
    modified: i64,
}

/// A generated person: what every one of their source records is drawn from.
struct Person {
    first: &'static str,
    last: String,
    birth: Option<String>,
    email: String,
    phone: String,
}

/// The CSV files of `rows/`: `(file name, content)`, sorted by file name.
/// The unified and link rows come from the identity resolution engine run
/// on the generated sources with the default org's ruleset, so they are
/// exactly what a first run of that ruleset writes.
pub fn generate() -> Vec<(String, String)> {
    let sources = source_files(PEOPLE);
    let mut files = sources.clone();
    files.extend(resolve(&sources).unwrap_or_else(|e| panic!("default org fixtures: {e}")));
    files.sort();
    files
}

/// The source CSV files (individuals, emails, phones) for `people` people,
/// about 1.33 source profiles each. Deterministic. Past 2,000 people, last
/// names are double-barrelled and phone ranges wider (see `LARGE_FROM`).
pub fn source_files(people: usize) -> Vec<(String, String)> {
    let mut dice = Dice(ChaCha8Rng::from_seed(SEED));
    let people = draw_people(&mut dice, people);
    let sources = sources(&mut dice, &people);
    vec![
        (
            "ssot__ContactPointEmail__dlm.csv".to_owned(),
            tables::emails(&mut dice, &sources),
        ),
        (
            "ssot__ContactPointPhone__dlm.csv".to_owned(),
            tables::phones(&mut dice, &sources),
        ),
        (
            "ssot__Individual__dlm.csv".to_owned(),
            tables::individuals(&sources),
        ),
    ]
}

/// Runs the built-in org's first ruleset on source CSV files; returns the
/// CSV files of the unified and link objects.
fn resolve(sources: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    use crate::identity::{resolve, table::Table};
    let files = super::files::Files::builtin();
    let model = super::schema::load_model(&files).map_err(|e| e.to_string())?;
    let rulesets = super::identity::load(&files, &model).map_err(|e| e.to_string())?;
    let ruleset = rulesets.first().ok_or("the default org has no ruleset")?;
    let table = |object: &str| -> Result<Table, String> {
        let def = model.object(object).ok_or(format!("no object {object}"))?;
        match sources
            .iter()
            .find(|(f, _)| f.strip_suffix(".csv") == Some(object))
        {
            Some((_, csv)) => Table::from_csv(def, csv).map_err(|e| format!("{object}: {e}")),
            None => Ok(Table::empty(def)),
        }
    };
    let inputs = resolve::Inputs {
        individuals: table(&ruleset.individual)?,
        contact_points: crate::identity::materialize::contact_point_objects(ruleset)
            .iter()
            .map(|o| table(o))
            .collect::<Result<_, _>>()?,
    };
    let outputs = resolve::resolve(ruleset, &model, &inputs, &Default::default())?;
    Ok(outputs
        .tables
        .iter()
        .map(|t| (format!("{}.csv", t.object), t.to_csv()))
        .collect())
}

/// Rewrites `<dir>/rows/*.csv`.
pub fn write(dir: &Path) -> std::io::Result<Vec<(String, usize)>> {
    let rows = dir.join("rows");
    std::fs::create_dir_all(&rows)?;
    let mut written = Vec::new();
    for (name, content) in generate() {
        std::fs::write(rows.join(&name), &content)?;
        written.push((name, content.lines().count().saturating_sub(1)));
    }
    Ok(written)
}

fn draw_people(dice: &mut Dice, count: usize) -> Vec<Person> {
    let mut emails = HashSet::new();
    let mut phones = HashSet::new();
    let mut names = NameBook::default();
    let large = count > LARGE_FROM;
    let mut out: Vec<Person> = Vec::with_capacity(count);
    for i in 0..count {
        let first = dice.pick(FIRST_NAMES);
        let last = if large {
            format!("{}-{}", dice.pick(LAST_NAMES), dice.pick(LAST_NAMES))
        } else {
            dice.pick(LAST_NAMES).to_owned()
        };
        let birth = dice.percent(80).then(|| {
            let (y, m, d) = (
                1950 + dice.below(56),
                1 + dice.below(12),
                1 + dice.below(28),
            );
            format!("{y:04}-{m:02}-{d:02}")
        });
        let f: String = first.to_ascii_lowercase();
        let l: String = last
            .split('-')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_ascii_lowercase();
        let local = match dice.below(4) {
            0 => format!("{f}.{l}"),
            1 => format!("{f}{l}"),
            2 => format!("{}{l}", &f[..1]),
            _ => format!("{f}_{l}{}", dice.below(90) + 10),
        };
        let mut email = format!("{local}@{}", dice.pick(EMAIL_DOMAINS));
        if !emails.insert(email.clone()) {
            email = format!("{local}{i}@{}", dice.pick(EMAIL_DOMAINS));
            emails.insert(email.clone());
        }
        let mut phone;
        loop {
            phone = match (dice.percent(75), large) {
                (true, false) => format!("+1{}55501{:02}", dice.pick(AREA_CODES), dice.below(100)),
                (true, true) => format!("+1{}555{:04}", dice.pick(AREA_CODES), dice.below(10_000)),
                (false, false) => format!("+447700900{:03}", dice.below(1000)),
                (false, true) => format!("+447700{:06}", dice.below(1_000_000)),
            };
            if phones.insert(phone.clone()) {
                break;
            }
        }
        let last = names.settle(first, &last);
        out.push(Person {
            first,
            last,
            birth,
            email,
            phone,
        });
    }
    // Households: a few people share a landline with someone else, so
    // matching on phone merges them, as it would in a real org.
    for _ in 0..(count * 15).div_ceil(PEOPLE) {
        let (a, b) = (
            dice.below(count as u64) as usize,
            dice.below(count as u64) as usize,
        );
        if a != b {
            out[b].phone = out[a].phone.clone();
        }
    }
    out
}

fn sources(dice: &mut Dice, people: &[Person]) -> Vec<Source> {
    let mut out = Vec::new();
    let mut used = HashSet::new();
    for p in people {
        let roll = dice.below(100);
        let origins: &[_] = match roll {
            0..60 => &[CRM],
            60..68 => &[WEB],
            68..97 => &[CRM, WEB],
            _ => &[CRM, CRM, WEB],
        };
        // What links the records of one person: email, phone or both.
        let link = dice.below(100);
        let (share_email, share_phone) = (link < 75, link >= 55);
        for (n, &origin) in origins.iter().enumerate() {
            let alone = origins.len() == 1;
            let web = origin == WEB;
            let email = if alone {
                dice.percent(88)
            } else {
                share_email || (n == 0 && dice.percent(70))
            };
            let phone = if alone {
                dice.percent(if web { 85 } else { 65 })
            } else {
                share_phone || (n == 0 && dice.percent(60))
            };
            let anonymous = web && dice.percent(30);
            let id = loop {
                let id = if web {
                    let h = dice.hex(32);
                    format!(
                        "{}-{}-{}-{}-{}",
                        &h[..8],
                        &h[8..12],
                        &h[12..16],
                        &h[16..20],
                        &h[20..]
                    )
                } else {
                    let id15 = format!("003Hp0000{}", dice.alnum(6));
                    ids::to_id18(&id15).unwrap_or(id15)
                };
                if used.insert(id.clone()) {
                    break id;
                }
            };
            let created = 1_640_995_200 + dice.below(3 * 365 * 86_400) as i64;
            let modified = created + dice.below(400 * 86_400) as i64;
            out.push(Source {
                id,
                origin,
                first: (!anonymous).then(|| p.first.to_owned()),
                last: (!anonymous).then(|| p.last.clone()),
                birth: if web { None } else { p.birth.clone() },
                income: (!web && dice.percent(70)).then(|| 20_000 + 500 * dice.below(460)),
                children: (!web && dice.percent(60)).then(|| dice.below(5)),
                opted_out: dice.percent(90).then(|| dice.percent(10)),
                email: email.then(|| email_spelling(dice, &p.email, n)),
                phone: phone.then(|| {
                    if web && dice.percent(60) {
                        phone::whatsapp(&p.phone, dice.below(2) == 0)
                    } else {
                        phone::render(&p.phone, dice.below(35))
                    }
                }),
                created: created * 1000 + dice.below(1000) as i64,
                modified: modified * 1000 + dice.below(1000) as i64,
            });
        }
    }
    out
}

/// The second record of a person sometimes spells the email differently;
/// normalization (trim, lower case) still matches it.
fn email_spelling(dice: &mut Dice, email: &str, n: usize) -> String {
    if n == 0 || !dice.percent(30) {
        return email.to_owned();
    }
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let mut chars = local.chars();
    let head: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .collect();
    format!("{head}{}@{}", chars.as_str(), domain.to_ascii_uppercase())
}
