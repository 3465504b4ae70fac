"""Every vocabulary the classifier matches: word lists, name tokens, heading patterns.

What: the words and names the signals look for -- tokens of variable names (``rf_model2`` ->
{"rf", "model"}), method names that fit/predict/write, column names that are labels, heading
and comment patterns per stage in the languages of the corpus -- gathered from the signal
modules so that one file says what the classifier knows about words.

Why one place: a reviewer extends a vocabulary (a new language, a new library's method) without
reading signal code, and two signals cannot drift apart on what "test data" is called. The
library APIs with their stage weights stay in ``api_table`` (facts about code); weights,
caps and confidences belong to the fitted data file, not here.
"""

from __future__ import annotations

import builtins

from nbsplit.model import Stage

D, E, F, T, V, P, M, S = (
    Stage.DATA_PREP, Stage.EDA, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION,
    Stage.PREDICTION, Stage.MONITORING, Stage.SETUP,
)


# --- from the structure signal ------------------------------------------------------------
# Names of a model's inputs/target (X, y, X_scaled, y_log) and of split parts (X_train, trainX).
XY_NAME_PATTERN = r"^(?:[Xx]|[yY])(?:_[A-Za-z]\w*)?$"
XY_SPLIT_NAME_PATTERN = r"^(?:[Xx]|[yY])(?:_[A-Za-z]\w*|train|test|val|valid)?$|^(?:train|test|val|valid)_?[XxYy]$"
SPLIT_CALLS = ("train_test_split", "randomSplit")
PLOT_LIBRARIES = ("matplotlib", "seaborn", "plotly")
ECHO_CALLS = ("print", "display", "str")
SUBMISSION_TOKENS = frozenset({"sub", "submission", "submit", "sample"})
VALIDATION_TOKENS = frozenset({"val", "valid", "validation"})
# Text (string literals, lower-cased) that says a written frame holds predictions.
PREDICTION_TEXT_PATTERN = r"pred|scor|inferen|submission"
# Last parts of a dotted string that make it a file name, not a catalog.schema.table name.
FILE_EXTENSIONS = frozenset({"csv", "tsv", "txt", "json", "jsonl", "parquet", "pq", "orc", "avro", "xlsx", "xls",
                             "pkl", "pickle", "joblib", "feather", "h5", "hdf5", "npy", "npz", "zip", "gz",
                             "db", "sqlite", "delta", "xml", "html", "png", "jpg", "pdf", "model", "bin"})
# Cell magics whose body is another language, and what they are called here.
CELL_MAGIC_LANGUAGES = frozenset({"sql", "sh", "bash", "script", "html", "javascript", "js", "latex",
                                  "markdown", "writefile"})
CELL_MAGIC_ALIASES = {"bash": "sh", "script": "sh"}
LINE_MAGICS_WITH_ARGUMENT = frozenset({"pip", "run", "conda", "fs"})
RENDER_LANGUAGES = frozenset({"html", "javascript", "latex", "markdown", "md"})
# SQL (matched case-insensitively against the query text).
SQL_WRITE_PATTERN = (r"\b(create\s+(or\s+replace\s+)?(temp(orary)?\s+)?(table|view)|insert\s+(into|overwrite)"
                     r"|merge\s+into|update\s+\w|delete\s+from|copy\s+into|alter\s+table|optimize\s|vacuum\s)")
SQL_SETUP_PATTERN = r"^\s*(use\s+(catalog|schema|database)?|create\s+(schema|database|catalog)|set\s+)"
SQL_AGGREGATE_PATTERN = (r"\b(group\s+by|count\s*\(|avg\s*\(|sum\s*\(|min\s*\(|max\s*\(|stddev\w*\s*\("
                         r"|percentile\w*\s*\(|corr\s*\(|approx_\w+\s*\()")
SQL_TABLES_PATTERN = r"\b(?:from|join)\s+([\w.`]+)"
SQL_SHOW_PATTERN = r"^\s*(describe|desc|show)\b"
SQL_STATEMENT_PATTERN = (r"^\s*(select|with|create|insert|merge|update|delete|describe|desc|show|use|copy|alter"
                         r"|optimize|drop)\b")
SQL_WRITES_PREDICTIONS_PATTERN = r"\bpred|\bscor|inference"  # lower-cased query text
SQL_PREDICTION_PATTERN = r"pred|scor|inferen"  # table names / select list, lower-cased
SQL_PRODUCTION_PATTERN = r"\bprod\w*|\bchampion"
SQL_STAGING_PATTERN = r"\bstag\w*|\bchallenger"
# Shell commands (``!cmd``, ``%sh``).
SHELL_INSTALL_PATTERN = r"\b(pip3?|conda|mamba|apt(-get)?|uv)\s+(install|update|upgrade)\b|\bpip\s+-q\b"
SHELL_FETCH_PATTERN = (r"\b(wget|curl|unzip|tar\s|gunzip|kaggle\s|gsutil|aws\s+s3|azcopy|git\s+clone|dbfs\s+cp"
                       r"|hdfs|7z)\b")
SHELL_LOOK_PATTERN = r"^[^\S\n]*+(ls|head|cat|du|wc|tail|file|find)\b"  # re.M
FIT_METHODS = frozenset({"fit", "partial_fit", "fit_generator"})
PREDICT_METHODS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function"})
DATA_WRITERS = frozenset({"to_csv", "to_parquet", "to_sql", "to_excel", "to_json", "saveAsTable",
                          "insertInto", "save", "parquet", "write_table", "to_feather", "to_pickle", "writeStream"})
SAVE_MODEL_METHODS = frozenset({"save", "save_model", "dump", "save_pretrained", "booster_", "save_weights"})
SAFE_CONST_CALLS = frozenset({
    "os.path.join", "pathlib.Path", "os.getenv", "os.environ.get", "dbutils.widgets.get",
    "dict", "list", "tuple", "set", "int", "float", "str", "range", "len", "Path", "os.path.expanduser",
    "datetime.datetime", "datetime.date", "datetime.datetime.now", "datetime.date.today",
    "dbutils.secrets.get", "print",
})
PURE_METHODS = frozenset({"split", "rsplit", "get", "format", "upper", "lower", "replace", "strip", "rstrip",
                          "lstrip", "join", "startswith", "endswith", "items", "keys", "values", "strftime"})
XY_NAMES = frozenset({
    "X", "y", "Y", "x", "features", "feature_cols", "feature_columns", "feature_names",
    "features_list", "feature_list", "target", "target_col", "target_column", "label", "labels",
    "X_all", "y_all", "X_full", "y_full", "X_data", "y_data", "cat_cols", "num_cols",
    "categorical_cols", "numerical_cols", "numeric_cols", "numeric_features", "categorical_features",
    "cat_features", "num_features", "numerical_features", "selected_features", "feature_set",
    "predictors", "input_cols", "inputCols", "variaveis", "atributos", "features_cols",
    "X_train_full", "alvo", "objetivo", "caracteristicas",
    # column groups fed to a ColumnTransformer: numeric = ["age", "income"]
    "numeric", "numerical", "categorical", "categoricals", "cat_vars", "num_vars", "categoricas", "numericas",
})
GRID_TOKENS = frozenset({"param", "params", "parameters", "grid", "hyperparams", "hyperparameters",
                         "parametros", "parametro", "hiperparametros", "search_space"})
FEATURE_PREFIXES = ("feat", "predictor", "variav", "atribut")
NOT_FEATURE_LIST_TOKENS = frozenset({"importance", "importances", "imp", "store", "table", "lookup", "lookups",
                                     "eng", "engineering"})
NOT_XY_TOKENS = frozenset({"pred", "preds", "hat", "proba", "prob", "probs", "score", "scores", "test", "teste",
                           "val", "valid", "train", "treino", "new", "novo", "novos", "predicted", "true"})
LABEL_COLUMNS = frozenset({"label", "target", "alvo", "objetivo", "classe", "etiqueta", "objetivo"})
TIME_TOKENS = frozenset({"monthly", "weekly", "daily", "month", "week", "day", "mes", "mensal", "semana",
                         "semanal", "diario", "period", "periodo", "over", "time", "rolling", "window"})
QUALITY_TOKENS = frozenset({"quality", "qualidade", "calidad", "null", "nulls", "missing", "alert", "alerts",
                            "alerta", "alertas", "anomaly", "anomalies", "outlier", "outliers"})
HISTORY_TOKENS = frozenset({"history", "hist_df", "learning", "epochs_hist"})
METRIC_TOKENS = frozenset({
    "loss", "accuracy", "acc", "auc", "roc", "rmse", "mse", "mae", "mape", "r2", "f1", "precision",
    "recall", "logloss", "gini", "cm", "conf", "report", "acuracia", "precisao", "metrics",
    "metricas", "scores",
})
FRESH_TOKENS = frozenset({"new", "fresh", "recent", "current", "latest", "prod", "production",
                          "live", "weekly", "monthly", "daily", "incoming", "novo", "novos", "atual"})
NOT_COLUMN_ATTRS = frozenset({"str", "dt", "cat", "values", "index", "columns", "loc", "iloc", "at", "iat",
                              "T", "shape", "dtypes", "plot", "array", "size", "name", "nan", "inf", "pi"})
SETUP_MAGICS = frozenset({"matplotlib", "load_ext", "config", "autoreload", "env", "cd", "reload_ext",
                          "pip", "conda", "run", "aimport", "precision", "pylab", "install"})
NOT_INPUT_TOKENS = frozenset({"pred", "preds", "hat", "proba", "prob", "probs", "score", "scores", "predicted",
                              "true", "res", "resid", "rsmote", "resampled"})
SHOW_CALLS = frozenset({"print", "display"})
# Names in a column's new value that derive it from others (``.dt``, ``.shift``, ``np.where``, ``pd.cut``).
DERIVE_WORDS = frozenset({"dt", "map", "apply", "str", "shift", "rolling", "diff", "pct_change", "ewm", "cumsum",
                          "expanding", "where", "log", "log1p", "log10", "log2", "cut", "qcut", "isin", "when"})

# --- from the shows signal ------------------------------------------------------------
# Calls a plot/print cell may make besides plotting libraries (and methods on its own figures).
VIEW_BUILTINS = frozenset({"print", "display", "len", "range", "enumerate", "zip", "list", "sorted",
                           "round", "str", "int", "float", "min", "max", "sum", "abs", "dict", "set",
                           "tuple", "type", "repr", "format"})
VIEW_METHODS = frozenset({
    "plot", "hist", "boxplot", "scatter", "bar", "barh", "head", "tail", "describe", "show", "info",
    "value_counts", "sample", "corr", "mean", "median", "sum", "count", "nunique", "unique",
    "max", "min", "std", "round", "sort_values", "reset_index", "to_frame", "printSchema", "limit",
    "select", "toPandas", "format", "items", "keys", "values", "set_title", "set_xlabel", "set_ylabel",
})
PLOT_MODULES = ("matplotlib", "seaborn", "plotly", "IPython.display", "altair")
NOT_DATA_NAMES = frozenset(dir(builtins)) | {"spark", "dbutils", "display", "sc", "sqlContext"}

# --- from the calls signal ------------------------------------------------------------
# Structure decides these from the receiver and the arguments.
STRUCTURAL_METHODS = frozenset({
    "fit", "fit_transform", "fit_predict", "partial_fit", "predict", "predict_proba",
    "predict_log_proba", "decision_function", "transform", "score", "train", "evaluate",
})
MODEL_METHOD_STAGES = {
    "summary": (Stage.TRAINING, 1.8),
    "get_params": (Stage.TRAINING, 1.0),
    "set_params": (Stage.TRAINING, 1.5),
    "compile": (Stage.TRAINING, 2.5),
    "get_feature_importance": (Stage.EVALUATION, 3.0),
    "get_booster": (Stage.EVALUATION, 1.0),
    "plot_importance": (Stage.EVALUATION, 3.0),
    "eval": (Stage.EVALUATION, 1.5),
    "plot_diagnostics": (Stage.EVALUATION, 2.6),  # statsmodels: residual checks of a fitted model
    "plot_predict": (Stage.EVALUATION, 2.2),
    "log_model": (Stage.TRAINING, 3.0),
}

# --- from the analysis context (model loaders) ------------------------------------------
MODEL_LOADERS = ("load_model", "joblib.load", "pickle.load", "torch.load", "PipelineModel.load",
                 "dill.load", "cloudpickle.load", "load_from_checkpoint", "from_pretrained", "spark_udf")

# --- from the fitted layer's features -----------------------------------------------------
# Words of a notebook's file name that say it scores new data or monitors a model (the fitted
# layer's notebook flags). Not "prediction": "Heart_Disease_Prediction" names a whole project.
SCORING_FILE_WORDS = frozenset({"inference", "inferencia", "infer", "scoring", "score", "serving",
                                "deploy", "deployment", "batch"})
MONITORING_FILE_WORDS = frozenset({"monitoring", "monitor", "drift", "monitoramento", "monitoreo"})
FEATURE_KEYWORDS = frozenset({"inplace", "random_state", "test_size", "axis", "columns", "how", "on", "hue",
                              "kind", "bins", "figsize", "seed", "stratify", "cv", "scoring", "param_grid",
                              "n_estimators", "labelCol", "featuresCol", "inputCols", "outputCol"})
MODULE_ROOTS = frozenset({
    "pandas", "numpy", "sklearn", "matplotlib", "seaborn", "scipy", "statsmodels", "xgboost", "lightgbm",
    "catboost", "mlflow", "pyspark", "spark", "dbutils", "evidently", "nannyml", "alibi_detect", "torch",
    "tensorflow", "keras", "plotly", "joblib", "pickle", "os", "imblearn", "optuna", "hyperopt", "shap",
    "prophet", "databricks", "deepchecks", "whylogs", "missingno", "sns", "plt", "pd", "np", "display",
    "print",
})

# --- from the headings signal ------------------------------------------------------------
HEADING_STRONG_PATTERNS: dict[Stage, str] = {
    M: r"monitor\w*|drift\w*|\bderiva\w*|estabilidade|\bstability|\bpsi\b|population stability"
       r"|observab\w*|\balert\w*|\bdecay\b|degrada\w*|over time|ao longo do tempo|a lo largo del tiempo"
       r"|em producao|en produccion|in production|\bincoming\b|fresh labels|new labels|novos rotulos"
       r"|data quality|qualidade (dos|de) dados|calidad de (los )?datos|over the weeks|por semana",
    P: r"\bpredi(ction|ctions|cting|ct)\b|\bpredicao|\bpredicoes|\bprediccion\w*|\bpredecir|\bpredizer"
       r"|\binfer(ence|encia|ir|ring)\b|\bscoring\b|\bscor(e|ing) (the|new|all|future)\b|batch (scoring|inference|prediction)|\bscore new"
       r"|new data|novos dados|nuevos datos|dados novos|submission|\bsubmiss\w*|\bsubmit\w*"
       r"|\bdeploy\w*|\bimplanta\w*|\bdespliegue|\bserving\b|apply(ing)? (the )?model"
       r"|aplica\w* (o |el |do )?modelo|unseen data",
    V: r"evaluat\w*|\bavalia\w*|\bevalua\w*|\bmetric\w*|\bmetrica\w*|\baccuracy|\bacuracia"
       r"|\bprecision\b|\brecall\b|\broc\b|\bauc\b|\bconfusion|matriz de confus\w*|classification report"
       r"|compar\w* (d?[aeo]s? |of |the |between )?(models?|modelos|algoritmos|algorithms|classifiers)"
       r"|model comparison|feature importances?|importancia (d[ae]s? |de las )?(variaveis|features|atributos|caracteristicas|variables)"
       r"|interpretab\w*|\binterpreta\w*|explainab\w*|\bshap\b|model validation|validation of the model"
       r"|valida\w* d[oe]l? modelo|test(ing)? (the )?model|teste d[oa] modelo|error analysis|analise de erros"
       r"|\bresidua\w*|\bresiduos",
    D: r"load(ing)? (the )?(data|dataset|files?|tables?)|data ?load|read(ing)? (the )?(data|dataset|files?|csv)"
       r"|import(ing)? (the )?(data|dataset)|\bcarrega\w*|\bleitura|\blectura|\bcargar?\b|\bcargando"
       r"|importa\w* (d[oa]s? |de )?(dados|datos|base|dataset)|get(ting)? (the )?data"
       r"|data (cleaning|cleansing|preparation|prep|wrangling|ingestion|acquisition|collection|loading)"
       r"|\bclean(ing|se|up)?\b|\blimpeza|\blimpieza|\blimpando|\btratamento|\btratamiento|\btratando"
       r"|\bpreparacao|\bpreparacion|\bpreparo\b|prepara\w* (d[oa]s? |los )?(dados|datos|base)"
       r"|missing (values|data)|valores (ausentes|faltantes|nulos|missing)|dados (faltantes|ausentes|nulos)"
       r"|null values|\bnan\b|\bduplicat\w*|\bduplicad\w*|\boutliers?\b|\bmerg(e|ing)\b|\bjoin(s|ing)?\b"
       r"|\bjuncao|tipos de dados|data types|\bwrangl\w*|\bingest\w*|\baquisicao|obtencao dos dados"
       r"|\bcoleta|\bextracao|\bextraccion|\betl\b|data prep",
    F: r"feature (engineering|selection|extraction|creation|construction|transformation|scaling|encoding|store|tables?)"
       r"|features? eng\w*|engenharia (de )?(features?|atributos|variaveis|caracteristicas)"
       r"|ingenieria (de )?(caracteristicas|variables|atributos|features)"
       r"|criacao de (features|variaveis|atributos)|creacion de (variables|caracteristicas)"
       r"|selecao de (features|variaveis|atributos)|seleccion de (variables|caracteristicas)"
       r"|\bencod\w*|\bcodifica\w*|one.?hot|\bdummies|\bdummy|\bscal(ing|er)\b|\bnormaliza\w*"
       r"|\bpadroniza\w*|\bestandariza\w*|\bescalonamento|\bescalado|\bvetoriza\w*|\bvectoriz\w*|tf.?idf"
       r"|\bembedding|preprocessing pipeline|transformacao (de |das )?(variaveis|dados|features)"
       r"|transformacion de (variables|datos)|\bbinning|\bdiscretiza\w*|dimensionality reduction|\bpca\b"
       r"|reducao de dimensionalidade|\bx and y\b|\bx e y\b|variavel (alvo|target)|target variable"
       r"|new features|novas (features|variaveis)|nuevas variables|derived (features|variables|columns)"
       r"|featuriz\w*",
    E: r"\beda\b|explorat\w*|\bexploration|\bexplorando|\bexplorar|\bexploracao|\bexploracion|\bexplore"
       r"|analise (exploratoria|descritiva|univariada|bivariada|multivariada|dos dados|de dados|inicial|grafica)"
       r"|analisis (exploratorio|descriptivo|de (los )?datos)|data analysis|visuali[sz]\w*|\bgraficos?\b"
       r"|\bplots?\b|\bplotting|\bdistribu\w*|\bcorrela\w*|estatisticas? descritivas?|estadisticas? descriptivas?"
       r"|\bdescriptive|summary stat\w*|\bunderstand\w*|\bentend\w*|\bconhecendo|\bconociendo|\binsights?\b"
       r"|\bunivariate|\bbivariate|\bmultivariate|\boverview|visao geral|\bperfil|\bprofil\w*"
       r"|look at the data|first look|primeiro contato|conhecer os dados|\brelationships?\b|\brelacao"
       r"|\brelacion\w*|\bpatterns?\b|\bpadroes|\btendencias|\btrends?\b",
    T: r"\btrain(?!(?:ing)?[ _-]?(?:data|set|dataset|df|csv|file|frame)\b)\w*|\btreina\w*|\bentrena\w*|\bmodel(l)?ing\b|\bmodelagem|\bmodelado\b|\bmodelizac\w*"
       r"|fit(ting)? (the |a )?models?|ajuste d[oa] modelo|\btuning|hyper.?param\w*|hiper.?param\w*"
       r"|grid ?search|random(ized)? search|cross.?valid\w*|validacao cruzada|validacion cruzada|k.?fold"
       r"|\bsplit\w*|\bdivisao|\bdivision\b|separa\w* (d[oa]s? |los )?(dados|datos|treino|teste)"
       r"|\bparticion\w*|\bbaseline|build(ing)? (the |a )?models?|constru\w* d[oe]l? modelos?|criacao d[oa]s? modelos?"
       r"|\bexperiment\w*|\bmlflow|log(ging)? (the )?model|regist(er|ro|rar|ering)\w*"
       r"|save (the )?model|salva\w* (o )?modelo|guardar (el )?modelo|\bautoml\b|\boptuna|\bhyperopt",
    S: r"\bimports?\b(?! (the |of )?(data|dataset|dados|datos))|importing (the )?(libraries|packages|modules)"
       r"|importa\w* (d[ae]s? )?(bibliotecas|librerias|pacotes|modulos|libs)|\bbibliotecas|\blibrerias"
       r"|\blibrar(y|ies)\b|\bpacotes\b|\bpackages\b|\bsetup\b|set ?up\b|\bconfigura\w*|\bconfig\b"
       r"|\bsettings\b|\bambiente\b|\benvironment\b|\binstala\w*|\binstall\w*|\bdependenc\w*"
       r"|\bparametros\b|\bparameters\b|\bwidgets?\b|\bconstantes?\b|\bconstants\b|\bhelpers?\b"
       r"|\butilit\w*|\butils\b|funcoes auxiliares|funciones auxiliares|helper functions|\brequirements\b"
       r"|spark session",
}
HEADING_WEAK_PATTERNS: dict[Stage, str] = {
    D: r"\bdados\b|\bdatos\b|\bdata\b|\bdataset\b|base de dados|conjunto de dados|\bsources?\b|\bfontes?\b",
    E: r"\banalise\b|\banalisis\b|\banalysis\b|\bestatistica|\bstatistics|\bgraph|\bcharts?\b",
    F: r"\bfeatures?\b|\batributos\b|\bvariaveis\b|\bvariables\b|\bcaracteristicas\b|pre.?process\w*"
       r"|\bpreprocesamiento|\btransforma\w*",
    T: r"\bmodels?\b|\bmodelos?\b|\balgorit\w*|\bclassifier|\bclassificador|\bclasificador|\bregress\w*"
       r"|\bxgboost|\blightgbm|\bcatboost|random forest|\blogistic|\barvore|decision tree|\bneural"
       r"|rede neural|red neuronal|\bkeras|\bpipeline",
    V: r"\bresults?\b|\bresultados?\b|\bscores?\b|\bperformance\b|\bdesempenho\b|\bvalidation\b"
       r"|\bvalidacao\b|\bvalidacion\b|\bteste\b|\btest\b|\btesting\b|\btestando\b",
    P: r"\bprevis\w*|\bforecast\w*|\bprevision\w*",
    S: r"\bintrodu\w*|\bobjetivo\b|\bobjective\b|\bgoals?\b|\bcontexto\b|\bcontext\b|\bdescricao\b"
       r"|\bsobre\b|\babout\b|table of contents|\bsumario\b|\bindice\b|\bagenda\b",
}

# --- from the api_table tables ------------------------------------------------------------
# Vocabularies for guessing what a local variable holds, from its name alone (after splitting on
# "_" and digits: ``rf_model2`` -> {"rf", "model"}).
MODEL_TOKENS = frozenset({
    "model", "models", "modelo", "modelos", "mdl", "clf", "clfs", "classifier", "classificador",
    "clasificador", "regressor", "regresor", "reg", "rf", "rfc", "rfr", "dt", "dtc", "dtr", "tree",
    "xgb", "xgbc", "xgbr", "xgboost", "lgb", "lgbm", "lightgbm", "gbm", "gbc", "gbr", "gb", "cb",
    "catboost", "svc", "svm", "svr", "knn", "lr", "logreg", "linreg", "ridge", "lasso", "elastic",
    "nb", "gnb", "mnb", "mlp", "nn", "net", "ann", "cnn", "rnn", "lstm", "pipe", "pipeline", "grid",
    "gs", "gscv", "rscv", "search", "estimator", "est", "ensemble", "stack", "stacking", "voting",
    "booster", "bst", "learner", "kmeans", "km", "forest", "regression", "regressao", "arvore",
    "automl", "ols", "arima", "sarima", "sarimax", "prophet", "cv_model", "tuner", "cvmodel",
    "regr", "svc", "ada", "adaboost", "etc", "extra", "dummy", "baseline", "champion", "challenger",
})
TRANSFORMER_TOKENS = frozenset({
    "scaler", "sc", "ss", "mms", "rs", "scale", "encoder", "enc", "le", "lbl", "ohe", "oe",
    "imputer", "imp", "vectorizer", "vect", "vec", "tfidf", "tf_idf", "count_vect", "pca", "svd",
    "selector", "sel", "rfe", "rfecv", "tokenizer", "preprocessor", "preprocess", "preprocessing",
    "transformer", "ct", "poly", "binarizer", "normalizer", "assembler", "indexer", "discretizer",
    "kbins", "minmax", "standard", "robust", "labelencoder", "onehot", "featurizer", "smote",
})
EVALUATOR_TOKENS = frozenset({"evaluator", "evaluador", "avaliador", "metric", "metrics"})
FEATURE_STORE_TOKENS = frozenset({"fe", "fs", "fec", "fsc", "feature_store", "featurestore", "fstore"})
# Variable-name tokens that say "held-out split" vs "new data" vs "training data".
TEST_SPLIT_TOKENS = frozenset({
    "test", "teste", "testing", "val", "valid", "validation", "validacao", "validacion", "holdout",
    "dev", "eval", "xtest", "ytest", "xval", "yval", "xvalid", "yvalid", "tst", "prueba",
})
NEW_DATA_TOKENS = frozenset({
    "new", "novo", "nova", "novos", "novas", "nuevo", "nuevos", "nuevas", "unseen", "scoring",
    "inference", "inferencia", "batch", "submission", "submit", "sub", "prod", "production",
    "producao", "future", "futuro", "incoming", "live", "fresh", "latest", "current", "today",
    "hoje", "apply", "score", "unlabeled", "unlabelled", "serving", "realtime", "stream",
})
TRAIN_TOKENS = frozenset({"train", "treino", "treinamento", "entrenamiento", "training", "xtrain", "ytrain", "trn"})
PREDICTION_NAME_TOKENS = frozenset({
    "pred", "preds", "prediction", "predictions", "predicted", "predicao", "predicoes", "previsao",
    "previsoes", "prediccion", "predicciones", "scored", "scores", "submission", "yhat", "hat",
    "forecast", "proba", "probs", "probabilities", "result", "results", "output", "outputs",
})
DRIFT_TOKENS = frozenset({
    "drift", "psi", "stability", "ks", "wasserstein", "jensenshannon", "js", "kl", "divergence",
    "deriva", "monitor", "monitoring", "monitoramento", "monitoreo", "alert", "alerts",
})
# Words in the names of the notebook's own functions (``clean_flights``, ``plot_dist``,
# ``add_calendar_features``, ``rmse``): a call to them hints at a stage.
FUNCTION_NAME_WORDS: dict[str, tuple[Stage, float]] = {
    **{w: (D, 1.5) for w in ("load", "read", "clean", "cleanup", "fix", "prep", "prepare", "impute",
                             "fill", "dedupe", "dedup", "ingest", "parse", "download", "fetch",
                             "limpar", "limpa", "carregar", "carrega", "ler", "tratar", "limpiar",
                             "cargar")},
    **{w: (E, 1.5) for w in ("plot", "plots", "show", "describe", "summary", "summarize", "explore",
                             "visualize", "viz", "hist", "histogram", "distribution", "inspect",
                             "profile", "corr", "correlation", "grafico", "plotar", "boxplot",
                             "countplot", "barplot")},
    **{w: (F, 1.6) for w in ("feature", "features", "feat", "feats", "encode", "encoding", "scale",
                             "vectorize", "engineer", "derive", "onehot", "dummies", "bin", "binning",
                             "featurize", "atributos", "caracteristicas", "variaveis", "target")},
    **{w: (T, 1.6) for w in ("train", "fit", "tune", "tuning", "crossval", "treinar", "treina",
                             "entrenar", "hyperopt", "objective")},
    **{w: (V, 1.6) for w in ("evaluate", "eval", "metric", "metrics", "report", "rmse", "mae", "mape",
                             "accuracy", "auc", "confusion", "importance", "importances", "avaliar",
                             "evaluar", "residuals", "gini", "ks")},
    **{w: (P, 1.6) for w in ("predict", "prediction", "predictions", "inference", "infer", "submit",
                             "submission", "prever", "predecir")},
}
# How a column's new value is made (``ColumnWrite.via``): fixing values of a column (data-prep)
# vs. turning it into a model input (featurization).
COLUMN_FIX_METHODS = frozenset({
    "fillna", "astype", "replace", "to_datetime", "to_numeric", "strip", "lstrip", "rstrip", "lower",
    "upper", "title", "clip", "round", "abs", "interpolate", "bfill", "ffill", "coalesce", "cast",
    "trim", "regexp_replace", "to_date", "to_timestamp", "dropna", "mode", "median", "mean",
    "convert_dtypes", "infer_objects", "tz_localize", "tz_convert", "normalize", "capitalize",
})
COLUMN_ENCODE_METHODS = frozenset({
    "fit_transform", "transform", "map", "cut", "qcut", "get_dummies", "factorize", "log", "log1p",
    "sqrt", "exp", "boxcox", "yeojohnson", "where", "select", "digitize", "when", "otherwise",
    "apply", "shift", "diff", "rolling", "pct_change", "cumsum", "rank", "codes", "encode",
})
# What a fitted model gives back (predictions, scores, importances): values read from these are
# results of a model, not data -- showing them is evaluation/prediction, not eda.
MODEL_OUTPUT_METHODS = PREDICT_METHODS | frozenset({
    "score", "evaluate", "score_batch", "leaderboard", "get_feature_importance", "feature_importance",
    "explain", "shap_values",
})
MODEL_OUTPUT_MODULES = ("sklearn.metrics", "sklearn.inspection", "shap", "pyspark.ml.evaluation",
                        "evidently", "yellowbrick", "scikitplot")
MODEL_OUTPUT_ATTRS = frozenset({
    "feature_importances_", "coef_", "best_score_", "cv_results_", "oob_score_", "featureImportances",
    "coefficients", "summary", "history", "bestModel", "avgMetrics", "base_values",
})
